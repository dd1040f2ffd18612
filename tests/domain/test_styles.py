import pytest

from signal_rest.domain.styles import parse_styled

# Every vector of rest-api.md §5.5, then the Go project's own tests, then the stated rules.
VECTORS = [
    pytest.param("*italic*", "italic", ["0:6:ITALIC"], id="spec-italic"),
    pytest.param(
        "This is a **bold** and *italic* message",
        "This is a bold and italic message",
        ["10:4:BOLD", "19:6:ITALIC"],
        id="spec-bold-and-italic",
    ),
    pytest.param(
        "This is a ~strikethrough~ and a **bold** message",
        "This is a strikethrough and a bold message",
        ["10:13:STRIKETHROUGH", "30:4:BOLD"],
        id="spec-strikethrough",
    ),
    pytest.param(
        "||this is a spoiler|| and another ||spoiler||",
        "this is a spoiler and another spoiler",
        ["0:17:SPOILER", "30:7:SPOILER"],
        id="spec-two-spoilers",
    ),
    pytest.param(
        "Test 👦🏿 via **signal** API",
        "Test 👦🏿 via signal API",
        ["14:6:BOLD"],
        id="spec-emoji-with-skin-tone",
    ),
    pytest.param("\\**escaped text\\**", "**escaped text**", [], id="spec-escaped-bold"),
    pytest.param("Test \\** \\* \\~ Escape", "Test ** * ~ Escape", [], id="spec-escape-mix"),
    pytest.param(
        "***Bold Italic Text***",
        "Bold Italic Text",
        ["0:16:BOLD", "0:16:ITALIC"],
        id="spec-bold-italic",
    ),
    pytest.param("👋**abcdefg**", "👋abcdefg", ["2:7:BOLD"], id="spec-emoji-utf16"),
    pytest.param("👋🏾**abcdefg**", "👋🏾abcdefg", ["4:7:BOLD"], id="spec-two-astral-emoji"),
    pytest.param("||**x**||", "x", ["0:1:BOLD", "0:1:SPOILER"], id="spec-closing-order"),
    pytest.param("*a *b* c*", "a b c", ["0:2:ITALIC", "3:2:ITALIC"], id="spec-no-same-nesting"),
    pytest.param("*a **b* c**", "a b c", [], id="spec-crossing-markers"),
    pytest.param("\\|x", "|x", [], id="spec-escaped-single-pipe"),
    pytest.param("\\\\*", "\\*", [], id="spec-escaped-backslash"),
    pytest.param("**bold**", "bold", ["0:4:BOLD"], id="go-bold"),
    pytest.param(
        "*This is a italic message*",
        "This is a italic message",
        ["0:24:ITALIC"],
        id="go-long-italic",
    ),
    pytest.param(
        "This is a **bold** and another **bold** message",
        "This is a bold and another bold message",
        ["10:4:BOLD", "27:4:BOLD"],
        id="go-two-bold",
    ),
    pytest.param(
        "This is a `monospace` and a **bold** message",
        "This is a monospace and a bold message",
        ["10:9:MONOSPACE", "26:4:BOLD"],
        id="go-monospace",
    ),
    pytest.param("👋abcdefg", "👋abcdefg", [], id="go-emoji-plain"),
    pytest.param("||this is a spoiler||", "this is a spoiler", ["0:17:SPOILER"], id="go-spoiler"),
    pytest.param(
        "||**this is a bold text inside a spoiler**||",
        "this is a bold text inside a spoiler",
        ["0:36:BOLD", "0:36:SPOILER"],
        id="go-bold-inside-spoiler",
    ),
    pytest.param("\\*escaped text\\*", "*escaped text*", [], id="go-escaped-italic"),
    pytest.param("\\`escaped text\\`", "`escaped text`", [], id="go-escaped-backtick"),
    pytest.param("\\~escaped text\\~", "~escaped text~", [], id="go-escaped-tilde"),
    pytest.param("", "", [], id="empty"),
    pytest.param("plain text", "plain text", [], id="no-markers"),
    pytest.param("**open only", "open only", [], id="unclosed-dropped"),
    pytest.param("a | b", "a | b", [], id="single-pipe-literal"),
    pytest.param("****x*", "x", ["0:1:ITALIC"], id="four-stars-is-three-plus-one"),
    pytest.param("\\***x***", "***x", [], id="escaped-triple-star"),
    pytest.param("\\||x||", "||x", [], id="escaped-spoiler"),
    pytest.param("`*a*`", "a", ["0:1:ITALIC", "0:1:MONOSPACE"], id="markers-inside-backticks"),
    pytest.param("a\\b *c*", "a\\b c", ["4:1:ITALIC"], id="backslash-before-other-kept"),
    pytest.param(
        "~~x~~",
        "x",
        ["0:0:STRIKETHROUGH", "1:0:STRIKETHROUGH"],
        id="double-tilde-gives-empty-runs-as-go",
    ),
    pytest.param("𝒳 *y*", "𝒳 y", ["3:1:ITALIC"], id="astral-letter-counts-two"),
    pytest.param("C:\\", "C:\\", [], id="trailing-backslash-kept"),
    pytest.param("\\", "\\", [], id="lone-backslash-kept"),
    pytest.param("\\*a *b*", "*a b", ["3:1:ITALIC"], id="escaped-marker-counts-before-style"),
    pytest.param("\\**a *b*", "**a b", ["4:1:ITALIC"], id="escaped-double-marker-counts-two"),
    pytest.param("a \\*b *c*", "a *b c", ["5:1:ITALIC"], id="escaped-marker-after-text-adds"),
    pytest.param("\\~~x~", "~x", ["1:1:STRIKETHROUGH"], id="escape-covers-one-marker-only"),
    pytest.param("\uffff *b*", "\uffff b", ["2:1:ITALIC"], id="last-bmp-char-counts-one"),
    pytest.param("\U00010000 *b*", "\U00010000 b", ["3:1:ITALIC"], id="first-astral-counts-two"),
]


@pytest.mark.parametrize(("text", "plain", "styles"), VECTORS)
def test_parse_styled_matches_reference(text, plain, styles):
    assert parse_styled(text) == (plain, styles)
