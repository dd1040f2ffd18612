import base64

import pytest

from signal_rest.domain.groupids import internal_to_rest, is_internal_id, rest_to_internal
from signal_rest.errors import ValidationError

# A real group: base64 of 32 bytes, as signal-cli lists it.
GROUP_BYTES = bytes.fromhex("3e6a62f847cf5a6b318a898b7bd371d9717d1ce138f37a7a88a8858fae623302")
INTERNAL_ID = "Pmpi+EfPWmsxiomLe9Nx2XF9HOE483p6iKiFj65iMwI="
REST_ID = "group.UG1waStFZlBXbXN4aW9tTGU5TngyWEY5SE9FNDgzcDZpS2lGajY1aU13ST0="


def test_internal_to_rest_encodes_real_group_id():
    assert base64.b64encode(GROUP_BYTES).decode() == INTERNAL_ID
    assert internal_to_rest(INTERNAL_ID) == REST_ID


def test_rest_id_has_the_shape_signalbot_checks():
    assert len(REST_ID) == len("group.") + 60 and REST_ID.endswith("=")


def test_rest_to_internal_round_trips_real_group_id():
    assert rest_to_internal(internal_to_rest(INTERNAL_ID)) == INTERNAL_ID


@pytest.mark.parametrize(
    ("group_id", "expected"),
    [
        pytest.param(REST_ID, INTERNAL_ID, id="rest-form"),
        pytest.param(REST_ID.removeprefix("group."), INTERNAL_ID, id="prefix-optional"),
        pytest.param(REST_ID[:30] + "\n" + REST_ID[30:], INTERNAL_ID, id="newline-tolerated"),
        pytest.param("group.YWJjPQ==", "abc=", id="go-spec-example"),
        pytest.param(INTERNAL_ID, INTERNAL_ID, id="bare-internal-id-extension"),
        pytest.param("group." + INTERNAL_ID, INTERNAL_ID, id="prefixed-internal-id-extension"),
    ],
)
def test_rest_to_internal_accepts_each_form(group_id, expected):
    assert rest_to_internal(group_id) == expected


@pytest.mark.parametrize(
    "group_id",
    [
        pytest.param("group.not base64!", id="not-base64"),
        pytest.param("group.YWJj PQ==", id="space"),
        pytest.param("group.", id="empty"),
        pytest.param("", id="empty-without-prefix"),
        pytest.param("group.//79", id="binary-not-internal"),
        pytest.param("group." + INTERNAL_ID[:-1], id="truncated-internal-id"),
    ],
)
def test_rest_to_internal_rejects_invalid_ids(group_id):
    with pytest.raises(ValidationError) as caught:
        rest_to_internal(group_id)
    assert (caught.value.message, caught.value.status) == ("Invalid group id", 400)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(INTERNAL_ID, True, id="internal-id"),
        pytest.param(REST_ID, False, id="rest-id"),
        pytest.param(INTERNAL_ID[:-1] + "A", False, id="no-padding"),
        pytest.param("abc=", False, id="too-short"),
    ],
)
def test_is_internal_id_checks_shape(value, expected):
    assert is_internal_id(value) is expected
