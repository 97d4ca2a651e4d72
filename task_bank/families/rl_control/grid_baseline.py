"""Walk the shortest path to the goal on the map, planned as if every move went where it was meant to."""

from collections import deque

PARAMS = {"map": ["SFFF", "FHFH", "FFFH", "HFFG"], "moves": [[0, -1], [1, 0], [0, 1], [-1, 0]]}
"""The map (S start, F safe, H hole or cliff, G goal) and each action's (row, column) step."""


def shortest_moves():
    """The first move of a shortest hole-free path to the goal from each cell (breadth first from the goal)."""
    rows, columns = len(PARAMS["map"]), len(PARAMS["map"][0])
    goal = next((r, c) for r in range(rows) for c in range(columns) if PARAMS["map"][r][c] == "G")
    best, frontier = {goal: None}, deque([goal])
    while frontier:
        r, c = frontier.popleft()
        for action, (dr, dc) in enumerate(PARAMS["moves"]):
            here = (r - dr, c - dc)  # moving by (dr, dc) from `here` reaches (r, c)
            if 0 <= here[0] < rows and 0 <= here[1] < columns and here not in best \
                    and PARAMS["map"][here[0]][here[1]] != "H":
                best[here] = action
                frontier.append(here)
    return {r * columns + c: action for (r, c), action in best.items() if action is not None}


MOVE = shortest_moves()


def act(observation):
    """The move from cell `observation` (row * columns + column)."""
    return MOVE.get(observation, 0)
