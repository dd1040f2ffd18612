"""Usernames and profiles: what the network knows about its people.

A user may hold a username (`nick.42`; see usernames.py) and publish a profile. An
envelope's `sourceName` is the sender's profile name (given + " " + family) once it has a
profile, else null, as signal-cli shows it once it knows the profile. A send result shows a
username in `recipientAddress` only when the sender looked that user up by username (or it is
its own); a user reached by username shows no number, as a username lookup yields only an ACI.
"""

from __future__ import annotations

from typing import Any

from . import usernames
from .store import Store, now_ms

PROFILE_COLUMNS = ("given_name", "family_name", "about", "about_emoji", "avatar")


class People:
    """The usernames and profiles part of Network (which provides `store`)."""

    store: Store

    # usernames (see usernames.py for their rules)
    def username_of(self, number: str) -> str | None:
        row = self.store.one("SELECT username FROM usernames WHERE number = ?", number)
        return None if row is None else str(row["username"])

    def username_link(self, number: str) -> str | None:
        row = self.store.one("SELECT link FROM usernames WHERE number = ?", number)
        return None if row is None else str(row["link"])

    def number_of_username(self, username: str) -> str | None:
        """Who holds a username (any case), or the username link's owner."""
        key = usernames.link_key(username)
        if key is not None:
            row = self.store.one(
                "SELECT number FROM usernames WHERE link = ?", usernames.LINK_BASE + key
            )
        else:
            row = self.store.one("SELECT number FROM usernames WHERE folded = ?", username.lower())
        return None if row is None else str(row["number"])

    def claim_username(self, number: str, candidates: list[str]) -> str | None:
        """Give `number` the first free candidate (a new link with it); None if all are taken."""
        with self.store.transaction():
            for name in candidates:
                holder = self.number_of_username(name)
                if holder is None or holder == number:
                    self.store.run(
                        "INSERT OR REPLACE INTO usernames (number, username, folded, link) "
                        "VALUES (?, ?, ?, ?)",
                        number,
                        name,
                        name.lower(),
                        usernames.new_link(),
                    )
                    return name
        return None

    def delete_username(self, number: str) -> None:
        self.store.run("DELETE FROM usernames WHERE number = ?", number)

    def learn_username(self, viewer: str, number: str, username: str) -> None:
        self.store.run(
            "INSERT OR REPLACE INTO known_usernames (account, number, username) VALUES (?, ?, ?)",
            viewer,
            number,
            username,
        )

    def known(self, viewer: str, number: str) -> str | None:
        row = self.store.one(
            "SELECT username FROM known_usernames WHERE account = ? AND number = ?",
            viewer,
            number,
        )
        return None if row is None else str(row["username"])

    # profiles: what a user publishes about itself; others see it once they know it
    def profile(self, number: str) -> dict[str, Any] | None:
        row = self.store.one("SELECT * FROM profiles WHERE number = ?", number)
        if row is None:
            return None
        return {
            "givenName": row["given_name"],
            "familyName": row["family_name"],
            "about": row["about"],
            "aboutEmoji": row["about_emoji"],
            "hasAvatar": row["avatar"] is not None,
            "lastUpdateTimestamp": int(row["updated"]),
        }

    def update_profile(self, number: str, changes: dict[str, Any]) -> None:
        """Set the given fields (`given_name`, `family_name`, `about`, `about_emoji`, `avatar`
        bytes or None to remove it); fields not named keep their value."""
        with self.store.transaction():
            self.store.run(
                "INSERT OR IGNORE INTO profiles (number, updated) VALUES (?, ?)", number, now_ms()
            )
            for column, value in changes.items():
                assert column in PROFILE_COLUMNS, column
                self.store.run(f"UPDATE profiles SET {column} = ? WHERE number = ?", value, number)
            self.store.run("UPDATE profiles SET updated = ? WHERE number = ?", now_ms(), number)

    def profile_avatar(self, number: str) -> bytes | None:
        row = self.store.one("SELECT avatar FROM profiles WHERE number = ?", number)
        return None if row is None or row["avatar"] is None else bytes(row["avatar"])

    def display_name(self, number: str) -> str | None:
        """signal-cli's Profile.getDisplayName: given and family name joined; None when no
        profile is known at all."""
        # Every envelope names its sender: only the two names, not the whole profile.
        row = self.store.one(
            "SELECT given_name, family_name FROM profiles WHERE number = ?", number
        )
        if row is None:
            return None
        given, family = row["given_name"] or "", row["family_name"] or ""
        if given and family:
            return f"{given} {family}"
        return given or family
