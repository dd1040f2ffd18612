"""Pure request rules shared by the HTTP routes, free of HTTP and of signal-cli.

`groupids` (the two group id forms), `recipients` (what a recipient string names), `styles`
(styled text), `attachments` (base64 → temp files, with `sniffing`), `linkpreview`, and `b64`
(Go-compatible base64 underneath them).
"""
