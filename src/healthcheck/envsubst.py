"""Values from the environment, as an exec-form HEALTHCHECK has no shell to
expand them: in a positional or an option value, `$NAME`, `${NAME}` and
`${NAME:-default}` are replaced; `$$` is one `$`.

    expand("${PORT:-8080}/healthz", {"PORT": "9000"}.get) -> "9000/healthz"

NAME is a letter or `_`, then letters, digits and `_`. A `$` followed by
anything else stays as it is. An unset NAME with no default is a
UsageError naming it; `:-` takes the default for an empty value too, as a
shell does. Imported only when an argument holds a `$`.
"""

from .errors import UsageError, shown

FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
REST = FIRST + "0123456789"
MAX_TEXT = 4096  # an expanded argument longer than this is a mistake, not a value


def _name_end(text, start):
    end = start
    if end < len(text) and text[end] in FIRST:
        end += 1
        while end < len(text) and text[end] in REST:
            end += 1
    return end


def expand(text, getenv):
    """`text` with its variables replaced from getenv(NAME) (None: unset)."""
    out = []
    i = 0
    while True:
        dollar = text.find("$", i)
        if dollar < 0:
            out.append(text[i:])
            break
        out.append(text[i:dollar])
        nxt = text[dollar + 1:dollar + 2]
        if nxt == "$":
            out.append("$")
            i = dollar + 2
        elif nxt == "{":
            close = text.find("}", dollar + 2)
            if close < 0:
                raise UsageError("'%s': ${ without its closing }" % shown(text))
            inner = text[dollar + 2:close]
            end = _name_end(inner, 0)
            name, rest = inner[:end], inner[end:]
            if not name or (rest and rest[:2] != ":-"):
                raise UsageError("'%s': write ${NAME} or ${NAME:-default} (NAME: letters, digits, _)"
                                 % shown(inner))
            value = getenv(name)
            if rest:
                if not value:
                    value = rest[2:]
            elif value is None:
                raise UsageError("environment variable %s is not set (${%s:-default} gives a default)"
                                 % (name, name))
            out.append(value)
            i = close + 1
        else:
            end = _name_end(text, dollar + 1)
            if end == dollar + 1:
                out.append("$")  # not a variable: "$5", "a$", "$-"
                i = dollar + 1
                continue
            name = text[dollar + 1:end]
            value = getenv(name)
            if value is None:
                raise UsageError("environment variable %s is not set (${%s:-default} gives a default)"
                                 % (name, name))
            out.append(value)
            i = end
    result = "".join(out)
    if len(result) > MAX_TEXT:
        raise UsageError("'%s' expands to more than %d characters" % (shown(text), MAX_TEXT))
    return result


def expand_all(positionals, options, getenv):
    """A check's positionals and option values (a value, a list of values,
    or True for a flag), expanded."""
    new = {}
    for key in options:
        value = options[key]
        if isinstance(value, list):
            value = [expand(v, getenv) for v in value]
        elif value is not True:
            value = expand(value, getenv)
        new[key] = value
    return [expand(p, getenv) for p in positionals], new
