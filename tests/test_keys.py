"""Key sets as numpy arrays agree with Python's sets, whatever the order, duplicates or gaps."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from workbench.keys import member, union

keys = st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=200)
small_keys = st.lists(st.integers(min_value=0, max_value=50), max_size=60)  # many duplicates and near misses


@given(keys, keys, small_keys)
def test_union_is_the_sorted_set_union(a: list[int], b: list[int], c: list[int]) -> None:
    got = union(np.array(a, dtype="int64"), np.array(b, dtype="int64"), np.array(c, dtype="int64"))
    assert got.tolist() == sorted(set(a) | set(b) | set(c))


@given(st.one_of(keys, small_keys), st.one_of(keys, small_keys))
def test_member_is_set_membership(values: list[int], of: list[int]) -> None:
    got = member(np.array(values, dtype="int64"), np.array(of, dtype="int64"))
    assert got.dtype == bool and got.tolist() == [v in set(of) for v in values]
