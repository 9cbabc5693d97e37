r"""Which archive member names may become paths on disk.

A member name is data from the archive, and an archive can be hostile.  Any
code that turns a member name into a file system path (the compiled-source
cache today; extracting extension modules or files later) asks
:func:`safe_relative_name` first and skips, or refuses, a name it rejects.

The rule is the same on every platform, so an archive behaves the same
wherever it is opened: a name is safe if, joined to a directory on POSIX or on
Windows, it names something inside that directory.
"""

from __future__ import annotations

__all__ = ["safe_relative_name"]


def safe_relative_name(name: str) -> bool:
    r"""Whether *name* stays inside any directory it is joined to.

    Rejected: the empty name; a NUL anywhere (it would cut the path short);
    an absolute name, with ``/`` or ``\`` (a Windows root or UNC share) in
    front; a Windows drive (``C:``), which is absolute or drive-relative; and a
    ``..`` component, counting ``\`` as a separator too.  Since Windows drops
    trailing dots and spaces from a component, any component made only of
    dots and spaces (``...``, ``. .``) is rejected as well, except ``.``.

    >>> safe_relative_name("pkg/mod.py")
    True
    >>> safe_relative_name("./pkg//mod.py")  # '.' and empty components stay put
    True
    >>> safe_relative_name("..foo/bar..py")  # dots inside a component are fine
    True
    >>> safe_relative_name("../evil.py"), safe_relative_name("pkg/../../evil.py")
    (False, False)
    >>> safe_relative_name("pkg\\..\\..\\evil.py")
    False
    >>> safe_relative_name("/etc/evil.py"), safe_relative_name("\\\\server\\share\\evil.py")
    (False, False)
    >>> safe_relative_name("C:evil.py"), safe_relative_name("c:/evil.py")
    (False, False)
    >>> safe_relative_name("pkg/.../evil.py"), safe_relative_name("pkg/. ./evil.py")
    (False, False)
    >>> safe_relative_name("mod\0.py"), safe_relative_name("")
    (False, False)
    """
    if not name or "\0" in name or name[0] in "/\\":
        return False
    if name[1:2] == ":" and name[0].isascii() and name[0].isalpha():
        return False
    for part in name.replace("\\", "/").split("/"):
        if part and part != "." and not part.strip(". "):
            return False
    return True
