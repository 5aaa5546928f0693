"""What changed: each release compared with the previous one (items added, removed, abolished and
changed field by field; schema changes announced), the accumulated changelog, item histories and
Atom feeds. Everything is derived from release data, never from the build clock."""
