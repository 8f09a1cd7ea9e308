"""The user's cache folder: files dstyle_tf builds once and reuses (a
compiled library of the benchmark, the web page's runtime and models).

`$XDG_CACHE_HOME/dstyle_tf`, else `~/.cache/dstyle_tf`. Everything in it can
be deleted; it is rebuilt when needed.
"""

import os


def cache_dir(*parts):
    """The cache folder, or a path inside it (not created)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dstyle_tf", *parts)
