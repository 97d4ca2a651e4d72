"""verl's multi-turn SFT dataset over `synthml export-sft` parquet, where messages and tools are JSON strings.

pyarrow merges the nested dict types of messages across rows (a tool call here, none there), so the export
stores each chat as a JSON string; this class decodes them and leaves the rest (chat template, loss on the
assistant turns only, padding) to verl. A per-turn export (its rows have a `turn`) learns only each row's last
message, the reply; the earlier replies are context. verl loads it from its config:

    data.custom_cls.path=pkg://synthml.training.verl_dataset data.custom_cls.name=SynthMLSFTDataset

It imports verl, so it is importable only with the train extra (`pip install 'synthml[train]'`).
"""

import json
from typing import Any

import torch
from verl.utils.dataset.multiturn_sft_dataset import MultiTurnSFTDataset


class SynthMLSFTDataset(MultiTurnSFTDataset):
    def _process_single_message(self, index: int, message: dict[str, Any], full_message: list, *args: Any,
                                **kwargs: Any) -> tuple:
        input_ids, loss_mask, attention_mask, inputs = super()._process_single_message(
            index, message, full_message, *args, **kwargs)
        if self.last_reply_only and index < len(full_message) - 1:
            loss_mask = torch.zeros_like(loss_mask)
        return input_ids, loss_mask, attention_mask, inputs

    def _read_files_and_process(self) -> None:
        super()._read_files_and_process()
        self.last_reply_only = "turn" in self.dataframe.columns
        messages = [json.loads(text) for text in self.dataframe[self.messages_key]]
        self.dataframe = self.dataframe.assign(**{self.messages_key: messages})
        self.messages = messages
        if self.tools is not None:
            self.tools = [json.loads(text) or None for text in self.dataframe[self.tools_key]]
