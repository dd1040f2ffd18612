import pytest

from signal_rest.domain.groupids import internal_to_rest
from signal_rest.domain.recipients import (
    MIX_GROUPS_NUMBERS,
    MIX_GROUPS_USERNAMES,
    MIX_NUMBERS_USERNAMES,
    MULTIPLE_GROUPS,
    Recipient,
    RecipientKind,
    SendTargets,
    classify,
    number_from_path,
    reject_mixed,
    split_for_send,
)
from signal_rest.errors import ValidationError

GROUP = RecipientKind.GROUP
NUMBER = RecipientKind.NUMBER
USERNAME = RecipientKind.USERNAME

INTERNAL_A = "Pmpi+EfPWmsxiomLe9Nx2XF9HOE483p6iKiFj65iMwI="
INTERNAL_B = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
REST_A = internal_to_rest(INTERNAL_A)
REST_B = internal_to_rest(INTERNAL_B)
UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


@pytest.mark.parametrize(
    ("recipient", "expected"),
    [
        pytest.param("+4915112345678", Recipient(NUMBER, "+4915112345678"), id="e164"),
        pytest.param("+49 151 123", Recipient(NUMBER, "+49 151 123"), id="e164-with-spaces"),
        pytest.param("+49١٢٣", Recipient(NUMBER, "+49١٢٣"), id="unicode-decimal-digits"),
        pytest.param("", Recipient(NUMBER, ""), id="empty-is-number-in-go"),
        pytest.param("+", Recipient(NUMBER, "+"), id="plus-only"),
        pytest.param(UUID, Recipient(NUMBER, UUID), id="uuid-canonical"),
        pytest.param(UUID.upper(), Recipient(NUMBER, UUID), id="uuid-uppercase"),
        pytest.param(UUID.replace("-", ""), Recipient(NUMBER, UUID), id="uuid-hash-like"),
        pytest.param("{" + UUID + "}", Recipient(NUMBER, UUID), id="uuid-braced"),
        pytest.param(
            "{" + UUID.replace("-", "") + "}", Recipient(NUMBER, UUID), id="uuid-braced-hash-like"
        ),
        pytest.param("urn:uuid:" + UUID, Recipient(NUMBER, UUID), id="uuid-urn"),
        pytest.param(
            "urn:uuid:" + UUID.replace("-", ""), Recipient(NUMBER, UUID), id="uuid-urn-hash-like"
        ),
        pytest.param("alice.01", Recipient(USERNAME, "alice.01"), id="username"),
        pytest.param("group.42", Recipient(USERNAME, "group.42"), id="group-like-username"),
        pytest.param(
            "Bob_2.100", Recipient(USERNAME, "Bob_2.100"), id="username-long-discriminator"
        ),
        pytest.param(REST_A, Recipient(GROUP, INTERNAL_A), id="group"),
        pytest.param(INTERNAL_A, Recipient(GROUP, INTERNAL_A), id="bare-internal-extension"),
        pytest.param(
            "group." + INTERNAL_A, Recipient(GROUP, INTERNAL_A), id="prefixed-internal-extension"
        ),
    ],
)
def test_classify_recognises_recipient_kind(recipient, expected):
    assert classify(recipient) == expected


@pytest.mark.parametrize(
    ("recipient", "message"),
    [
        pytest.param("group.YWJjPQ==", "Invalid Signal group size (2", id="short-group"),
        pytest.param("group.", "Invalid Signal group size (0", id="empty-group"),
        pytest.param(
            "group.abcd!efghij", "Invalid identifier group.abcd!efghij", id="eleven-chars"
        ),
        pytest.param("group.//79", "Invalid identifier group.//79", id="inner-not-base64"),
    ],
)
def test_classify_rejects_bad_groups_with_go_text(recipient, message):
    with pytest.raises(ValidationError) as caught:
        classify(recipient)
    assert caught.value.message == message


NOT_ONE = "Couldn't process request - {} is not a phone number, UUID, username or group id"
AS_NUMBER = " (a phone number starts with + and the country code)"


@pytest.mark.parametrize(
    ("recipient", "message"),
    [
        pytest.param(
            "hello",
            NOT_ONE.format("'hello'")
            + " (a username ends in a dot and two or more digits, as in hello.01)",
            id="bare-nickname",
        ),
        pytest.param("4915112345678", NOT_ONE.format("'4915112345678'") + AS_NUMBER, id="no-plus"),
        pytest.param("+49²", NOT_ONE.format("'+49²'"), id="superscript-not-digit"),
        pytest.param("+x49", NOT_ONE.format("'+x49'"), id="first-char-after-plus-checked"),
        pytest.param("URN:UUID:" + UUID, NOT_ONE.format(f"'URN:UUID:{UUID}'"), id="urn-case"),
        pytest.param(UUID + "0", NOT_ONE.format(f"'{UUID}0'"), id="uuid-too-long"),
        pytest.param("{" + UUID, NOT_ONE.format("'{" + UUID + "'"), id="uuid-unbalanced-brace"),
        pytest.param("alice.1", NOT_ONE.format("'alice.1'"), id="one-digit-discriminator"),
        pytest.param("alice.00", NOT_ONE.format("'alice.00'"), id="zero-discriminator"),
        pytest.param("alice.012", NOT_ONE.format("'alice.012'"), id="leading-zero"),
        pytest.param("1alice.01", NOT_ONE.format("'1alice.01'"), id="digit-first"),
        pytest.param("group.abcd!efgh", NOT_ONE.format("'group.abcd!efgh'"), id="nine-chars"),
        pytest.param("group.abcd!efghi", NOT_ONE.format("'group.abcd!efghi'"), id="ten-chars"),
    ],
)
def test_classify_rejects_what_is_none_of_the_four_kinds(recipient, message):
    with pytest.raises(ValidationError) as caught:
        classify(recipient)
    assert caught.value.message == message


def test_split_for_send_groups_dedupes_and_keeps_order():
    targets = split_for_send(
        ["+491", UUID.upper(), "bob.02", REST_A, "+491", UUID, "alice.01", INTERNAL_B, REST_B]
    )
    assert targets == SendTargets(
        numbers=["+491", UUID], usernames=["bob.02", "alice.01"], groups=[INTERNAL_A, INTERNAL_B]
    )


def test_split_for_send_raises_first_classification_error():
    with pytest.raises(ValidationError) as caught:
        split_for_send(["+491", "group.YWJjPQ==", "group.abcd!efghij"])
    assert caught.value.message == "Invalid Signal group size (2"


@pytest.mark.parametrize(
    ("recipients", "message"),
    [
        pytest.param(["+491", REST_A], MIX_GROUPS_NUMBERS, id="numbers-groups"),
        pytest.param(["alice.01", REST_A], MIX_GROUPS_USERNAMES, id="usernames-groups"),
        pytest.param(["+491", "alice.01"], MIX_NUMBERS_USERNAMES, id="numbers-usernames"),
        pytest.param([REST_A, REST_B], MULTIPLE_GROUPS, id="two-groups"),
        pytest.param(["+491", "alice.01", REST_A, REST_B], MIX_GROUPS_NUMBERS, id="go-order"),
    ],
)
def test_reject_mixed_raises_go_text(recipients, message):
    with pytest.raises(ValidationError) as caught:
        reject_mixed(split_for_send(recipients))
    assert caught.value.message == message


@pytest.mark.parametrize(
    "recipients",
    [
        pytest.param(["+491", UUID], id="numbers-and-uuids"),
        pytest.param(["alice.01", "bob.02"], id="usernames"),
        pytest.param([REST_A, REST_A], id="same-group-twice"),
    ],
)
def test_reject_mixed_allows_what_go_allows(recipients):
    reject_mixed(split_for_send(recipients))  # raises nothing


def test_mix_messages_are_go_texts():
    assert MIX_GROUPS_NUMBERS == (
        "Signal Messenger Groups and phone numbers cannot be specified together in one request! "
        "Please split them up into multiple REST API calls."
    )
    assert MULTIPLE_GROUPS == (
        "A signal message cannot be sent to more than one group at once! "
        "Please use multiple REST API calls for that."
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("+4915112345678", "+4915112345678", id="plain"),
        pytest.param("%2B4915112345678", "+4915112345678", id="encoded-plus"),
        pytest.param("%2b49", "+49", id="lowercase-hex"),
        pytest.param("+49+1", "+49+1", id="plus-stays-plus"),
        pytest.param(UUID, UUID, id="uuid"),
    ],
)
def test_number_from_path_decodes_again(raw, expected):
    assert number_from_path(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("+49%", id="trailing-percent"),
        pytest.param("%2G49", id="bad-hex"),
        pytest.param("%4", id="short-escape"),
        pytest.param("+49%FF", id="invalid-utf8-byte"),
        pytest.param("+49%C3", id="truncated-utf8-sequence"),
        pytest.param("%ED%A0%80", id="encoded-surrogate"),
        pytest.param("+49\ufffd", id="replacement-from-first-decoding"),
        pytest.param("%EF%BF%BD", id="encoded-replacement-character"),
    ],
)
def test_number_from_path_rejects_stray_percent_and_invalid_utf8(raw):
    with pytest.raises(ValidationError) as caught:
        number_from_path(raw)
    assert caught.value.message == "Couldn't process request - malformed number"
