"""Contacts: what each number knows about the people it deals with (signal-cli's recipient store).

Every number keeps its own book. Someone enters it when the number exchanges a message with
them (either way), blocks them or names them with updateContact. Those the number sent a
message to (it shares its profile with them), named, gave a disappearing-message timer or
blocked are its *contacts* (listContacts); everyone else it met only shows with
`allRecipients`. The own number is never listed.

A contact's local name (updateContact) wins over its profile name in the number's own view:
it is the `sourceName` of the envelopes the number receives from them, as signal-cli's
getContactOrProfileName gives it. The timer is per pair: the number's messages to the contact
carry it, and a 1:1 message that sets a timer (an expiration update, or any text) sets the
receiver's timer for the sender, so both sides then send with it.
"""

from __future__ import annotations

from typing import Any

from .store import Store

NAME_COLUMNS = ("given_name", "family_name", "nick_given_name", "nick_family_name", "note")
_IS_CONTACT = (
    "(c.profile_sharing = 1 OR c.given_name IS NOT NULL OR c.family_name IS NOT NULL"
    " OR c.expiration > 0 OR b.target IS NOT NULL)"
)


def _joined(given: str | None, family: str | None) -> str | None:
    """signal-cli's Contact.getName: given and family name, either alone if the other is empty."""
    if not given:
        return family
    if not family:
        return given
    return f"{given} {family}"


class ContactBook:
    """The contacts part of Network (which provides `store`, profiles and usernames)."""

    store: Store

    def uuid_of(self, number: str) -> str:
        raise NotImplementedError

    def is_registered(self, number: str) -> bool:
        raise NotImplementedError

    def known(self, viewer: str, number: str) -> str | None:
        raise NotImplementedError

    def profile(self, number: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def display_name(self, number: str) -> str | None:
        raise NotImplementedError

    def meet(self, owner: str, number: str, *, sharing: bool = False) -> None:
        """`owner` now knows `number`; with `sharing`, `owner` messaged them (profile shared)."""
        if owner == number:
            return
        # Written only when it changes: a write makes the store forget what it read of contacts.
        row = self.store.one(
            "SELECT profile_sharing FROM contacts WHERE account = ? AND number = ?", owner, number
        )
        if row is None:
            self.store.run(
                "INSERT INTO contacts (account, number, profile_sharing) VALUES (?, ?, ?)",
                owner,
                number,
                int(sharing),
            )
        elif sharing and not row["profile_sharing"]:
            self.store.run(
                "UPDATE contacts SET profile_sharing = 1 WHERE account = ? AND number = ?",
                owner,
                number,
            )

    def name_contact(self, owner: str, number: str, names: dict[str, str | None]) -> None:
        """Set the given name columns (NAME_COLUMNS); a None value keeps what is there."""
        with self.store.transaction():
            self.meet(owner, number)
            for column, value in names.items():
                assert column in NAME_COLUMNS, column
                if value is not None:
                    self.store.run(
                        f"UPDATE contacts SET {column} = ? WHERE account = ? AND number = ?",
                        value,
                        owner,
                        number,
                    )

    def set_expiration(self, owner: str, number: str, seconds: int) -> None:
        with self.store.transaction():
            self.meet(owner, number)
            if self.expiration(owner, number) == seconds:
                return
            self.store.run(
                "UPDATE contacts SET expiration = ? WHERE account = ? AND number = ?",
                seconds,
                owner,
                number,
            )

    def expiration(self, owner: str, number: str) -> int:
        row = self.store.one(
            "SELECT expiration FROM contacts WHERE account = ? AND number = ?", owner, number
        )
        return 0 if row is None else int(row["expiration"])

    def contact_name(self, owner: str, number: str) -> str | None:
        row = self.store.one(
            "SELECT given_name, family_name FROM contacts WHERE account = ? AND number = ?",
            owner,
            number,
        )
        return None if row is None else _joined(row["given_name"], row["family_name"])

    def name_for(self, viewer: str, number: str) -> str | None:
        """The `sourceName` `viewer` sees on `number`'s envelopes: its local name, else the
        profile name."""
        return self.contact_name(viewer, number) or self.display_name(number)

    def contacts(
        self,
        owner: str,
        *,
        everyone: bool = False,
        blocked: bool | None = None,
        numbers: list[str] | None = None,
        name: str | None = None,
    ) -> list[dict[str, Any]]:
        """listContacts of `owner`: its contacts (or `everyone` it met), optionally only the
        (un)blocked ones, those of `numbers`, or those called `name`."""
        sql = (
            "SELECT c.*, b.target AS blocked FROM contacts c LEFT JOIN blocked b "
            "ON b.account = c.account AND b.target = c.number WHERE c.account = ?"
        )
        if not everyone:
            sql += " AND " + _IS_CONTACT
        out = []
        for row in self.store.all(sql + " ORDER BY c.rowid", owner):
            entry = self._entry(owner, row)
            if blocked is not None and entry["isBlocked"] != blocked:
                continue
            if numbers is not None and entry["number"] not in numbers:
                continue
            if name is not None and name not in (entry["name"], self.display_name(row["number"])):
                continue
            out.append(entry)
        return out

    def _entry(self, owner: str, row: Any) -> dict[str, Any]:
        number = str(row["number"])
        profile = self.profile(number)
        registered = self.is_registered(number)
        return {
            "number": number,
            # No ACI is known for a number that is not on Signal.
            "uuid": self.uuid_of(number) if registered else None,
            "username": self.known(owner, number),
            "name": _joined(row["given_name"], row["family_name"]),
            "givenName": row["given_name"],
            "familyName": row["family_name"],
            "nickName": _joined(row["nick_given_name"], row["nick_family_name"]),
            "nickGivenName": row["nick_given_name"],
            "nickFamilyName": row["nick_family_name"],
            "note": row["note"],
            "color": None,
            "isBlocked": row["blocked"] is not None,
            "isHidden": False,
            "messageExpirationTime": int(row["expiration"]),
            "profileSharing": bool(row["profile_sharing"]),
            "unregistered": not registered,
            "profile": None
            if profile is None
            else {
                "lastUpdateTimestamp": profile["lastUpdateTimestamp"],
                "givenName": profile["givenName"],
                "familyName": profile["familyName"],
                "about": profile["about"],
                "aboutEmoji": profile["aboutEmoji"],
                "hasAvatar": profile["hasAvatar"],
                "mobileCoinAddress": None,
            },
        }
