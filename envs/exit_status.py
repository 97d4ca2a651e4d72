"""How an episode ended, as MLGym writes it (`submitted`, `autosubmission (max_steps)`): a string, so that
info dicts, trajectories and MLGym's results.json keep MLGym's form, that also reads as its kind and reason."""

import re
from typing import Literal, get_args

Kind = Literal["submitted", "autosubmission", "submission_not_found", "evaluation_error", "infra_error"]
"""submitted: the agent's `submit` was scored; autosubmission: a limit ended the episode and what the workspace
held was scored; submission_not_found / evaluation_error: the final evaluation found no submission or failed;
infra_error: the sandbox or the endpoint failed, and the episode is not scored."""
KINDS: tuple[str, ...] = get_args(Kind)
_FORM = re.compile(r"(?P<kind>\w+)(?: \((?P<reason>.*)\))?", re.DOTALL)


class ExitStatus(str):
    """MLGym's exit status text, with its `kind` and the `reason` in parentheses (what ended the episode)."""

    kind: Kind
    reason: str | None

    def __new__(cls, text: str) -> "ExitStatus":
        form = _FORM.fullmatch(text)
        if form is None or form["kind"] not in KINDS:
            raise ValueError(f"exit status {text!r}: expected one of {', '.join(KINDS)}, optionally followed by "
                             "' (reason)'")
        status = super().__new__(cls, text)
        status.kind, status.reason = form["kind"], form["reason"]
        return status

    @classmethod
    def parse(cls, text: str | None) -> "ExitStatus | None":
        """The status `text` is, or None where it is none of MLGym's (a record of another env, or none at all)."""
        try:
            return cls(text) if text is not None else None
        except ValueError:
            return None

    @classmethod
    def of(cls, kind: Kind, reason: str | None = None) -> "ExitStatus":
        return cls(kind if reason is None else f"{kind} ({reason})")

    @property
    def scored(self) -> bool:
        """A submission was evaluated: by the agent's `submit`, or automatically when a limit ended the episode."""
        return self.kind in ("submitted", "autosubmission")

    def forced_by(self, reason: str) -> "ExitStatus":
        """This status of a `submit` that the agent did not choose, but a limit (`reason`) forced."""
        if self.kind == "submitted":
            return ExitStatus.of("autosubmission", reason)
        return ExitStatus.of(self.kind, reason if self.reason == "submit" else self.reason)


INFRA_STATUS = ExitStatus.of("infra_error")
