"""Filling bins one at a time, then emptying bins. Each bin takes the largest item left and the one or two
items left that fill it best (a search over pairs, two pointers on the sorted sizes), then whatever else
fits, largest first (where first fit decreasing does better, it is kept). Then the emptiest bin's items
move into the fullest other bins they fit in, or swap with a smaller item, or two smaller items, of
another bin (its load falls, theirs rises); a bin emptied is gone. Until nothing helps, a share of the
time limit is spent or ROUNDS rounds are done (so that an idle machine gives the same packing every
time)."""

import time

SHARE, ROUNDS = 0.4, 2000


def solve(instance):
    deadline = time.monotonic() + SHARE * instance["time_limit"]
    sizes, capacity = instance["sizes"], instance["capacity"]
    bins = min(_first_fit_decreasing(sizes, capacity), _fill_bins(sizes, capacity),
               key=lambda bins: _cost(bins, sizes, capacity))
    for _ in range(ROUNDS):
        if time.monotonic() > deadline or not _empty_the_emptiest(bins, sizes, capacity):
            break
    answer = [0] * len(sizes)
    for b, items in enumerate(bins):
        for item in items:
            answer[item] = b
    return answer


def _cost(bins, sizes, capacity):
    return len(bins) - 1 + min(sum(sizes[i] for i in items) for items in bins) / capacity


def _fill_bins(sizes, capacity):
    left, bins = sorted(range(len(sizes)), key=lambda i: sizes[i]), []  # smallest first
    while left:
        items = [left.pop()]
        room = capacity - sizes[items[0]]
        best = _best_pair(left, sizes, room) or _best_single(left, sizes, room)
        for i in sorted(best, reverse=True):
            items.append(left.pop(i))
        room = capacity - sum(sizes[i] for i in items)
        for k in range(len(left) - 1, -1, -1):  # then whatever fits, largest first
            if sizes[left[k]] <= room:
                room -= sizes[left[k]]
                items.append(left.pop(k))
        bins.append(items)
    return bins


def _best_single(left, sizes, room):
    fits = [k for k in range(len(left)) if sizes[left[k]] <= room]
    return [fits[-1]] if fits else []


def _best_pair(left, sizes, room):
    """Positions in `left` (sorted by size) of the two items with the largest sum within `room`."""
    best, i, j = None, 0, len(left) - 1
    while i < j:
        pair = sizes[left[i]] + sizes[left[j]]
        if pair > room:
            j -= 1
            continue
        if best is None or pair > best[0]:
            best = (pair, i, j)
        i += 1
    return [best[1], best[2]] if best and best[0] >= max((sizes[x] for x in left if sizes[x] <= room),
                                                         default=0) else []


def _first_fit_decreasing(sizes, capacity):
    bins, loads = [], []
    for item in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        b = next((b for b, load in enumerate(loads) if load + sizes[item] <= capacity), len(loads))
        if b == len(loads):
            bins.append([])
            loads.append(0)
        bins[b].append(item)
        loads[b] += sizes[item]
    return bins


def _empty_the_emptiest(bins, sizes, capacity):
    """One improving change to the emptiest bin; whether there was one."""
    loads = [sum(sizes[i] for i in items) for items in bins]
    e = min(range(len(bins)), key=loads.__getitem__)
    others = sorted((b for b in range(len(bins)) if b != e), key=lambda b: -loads[b])
    for x in sorted(bins[e], key=lambda i: -sizes[i]):
        for b in others:  # a move, into the fullest bin it fits in
            if loads[b] + sizes[x] <= capacity:
                bins[e].remove(x)
                bins[b].append(x)
                if not bins[e]:
                    del bins[e]
                return True
        for b in others:  # a swap with a smaller item, leaving that bin as full as possible
            fits = [y for y in bins[b] if sizes[y] < sizes[x] and loads[b] - sizes[y] + sizes[x] <= capacity]
            if fits:
                y = min(fits, key=lambda y: sizes[y])
                bins[e][bins[e].index(x)], bins[b][bins[b].index(y)] = y, x
                return True
    return _swap_pair(bins, e, loads, sizes, capacity)


def _swap_pair(bins, e, loads, sizes, capacity):
    """An item of bin e for two smaller items of another bin, where that bin still fits the item."""
    for x in bins[e]:
        for b in range(len(bins)):
            if b == e:
                continue
            items = bins[b]
            for i in range(len(items)):
                for j in range(i + 1, len(items)):
                    pair = sizes[items[i]] + sizes[items[j]]
                    if pair < sizes[x] and loads[b] - pair + sizes[x] <= capacity:
                        y1, y2 = items[i], items[j]
                        bins[e] = [item for item in bins[e] if item != x] + [y1, y2]
                        bins[b] = [item for item in items if item not in (y1, y2)] + [x]
                        return True
    return False
