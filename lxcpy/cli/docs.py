"""Man pages and bash completion from the one declaration of every tool in bin/.

Regenerate the committed files (man/man1/*.1, completion/lxc) after changing a command:

    .venv/bin/python -m lxcpy.cli.docs

Every launcher in bin/ names its entry point (``from lxcpy.cli.X import main``); the click
command is the one that entry point runs. The two tools without click (lxc-usernsexec's
getopt, lxcpy-oci's argparse) get their page from their usage text.
tests/unit/test_docs.py regenerates in memory and fails on a stale or missing file.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER_IMPORT = re.compile(r"^\s*from (lxcpy\.[\w.]+) import (\w+)\s*$", re.M)


def tools(root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """bin/'s tools: name -> (module, entry point)."""
    found = {}
    for path in sorted((root / "bin").iterdir()):
        match = LAUNCHER_IMPORT.search(path.read_text())
        if match:
            found[path.name] = (match.group(1), match.group(2))
    return found


def click_command(module_name: str, entry: str) -> click.Command | None:
    """The click command behind a launcher's entry point, or None (no click)."""
    module = importlib.import_module(module_name)
    main = getattr(module, entry)
    run_command = inspect.getclosurevars(main).nonlocals.get("run_command")
    if run_command is not None:
        command = inspect.getclosurevars(run_command).nonlocals.get("command")
        if isinstance(command, click.Command):
            return command
        if callable(command):
            built = command()
            if isinstance(built, click.Command):
                return built
    command = getattr(module, "command", None)
    return command if isinstance(command, click.Command) else None


def roff(text: str) -> str:
    """Text as roff: backslashes and hyphens escaped, no line read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line
                     for line in text.splitlines())


def _paragraphs(text: str) -> str:
    out = []
    for para in re.split(r"\n\s*\n", inspect.cleandoc(text).strip()):
        if not para.strip():
            continue
        lines = para.splitlines()
        if any(line.startswith(("* ", "- ", "  ")) for line in lines):
            out.append(".nf\n" + roff(para) + "\n.fi")
        else:
            out.append(roff(" ".join(line.strip() for line in lines)))
    return "\n.PP\n".join(out)


def _rest(prog: str, module_doc: str) -> str:
    """The module docstring without a first paragraph of usage lines."""
    paras = inspect.cleandoc(module_doc or "").split("\n\n")
    if paras and paras[0].lstrip().startswith(prog.split("-")[0]):
        paras = paras[1:]
    return "\n\n".join(paras)


def synopsis(prog: str, module_doc: str, fallback: str) -> list[str]:
    """The usage lines of the module docstring's first paragraph naming ``prog``."""
    first = inspect.cleandoc(module_doc or "").split("\n\n")[0]
    lines = []
    for line in first.splitlines():
        for part in line.split(" / "):
            part = re.sub(r":\s+[A-Z].*$", "", part.strip())  # "USAGE: A sentence."
            if part == prog or part.startswith(prog + " "):
                lines.append(part)
    return lines or [fallback]


def _option_rows(command: click.Command) -> list[tuple[str, str]]:
    ctx = click.Context(command, info_name="x", **command.context_settings)
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record:
            rows.append(record)
    return rows


def _man(prog: str, summary: str, synopses: list[str], description: str,
         options: list[tuple[str, str]], raw_options: str | None, others: list[str]) -> str:
    out = [f'.TH {prog.upper()} 1 "" "lxcpy" "lxcpy manual"',
           ".SH NAME", f"{roff(prog)} \\- {roff(summary)}", ".SH SYNOPSIS"]
    out.append("\n.br\n".join(f".B {roff(s)}" if " " not in s else roff(s) for s in synopses))
    out += [".SH DESCRIPTION", description or roff(summary), ".SH OPTIONS"]
    if raw_options is not None:
        out += [".nf", roff(raw_options.rstrip()), ".fi"]
    for names, text in options:
        out += [".TP", f"\\fB{roff(names)}\\fR", roff(text)]
    out += [".SH EXIT STATUS",
            "0 on success. On a failure, one line on standard error "
            f"(\\fB{roff(prog)}: message\\fR, the container's name before the message "
            "when one was given) and a non\\-zero status. A command that runs a program "
            "(lxc\\-execute, lxc\\-attach, lxc\\-usernsexec) exits with that program's "
            "status.",
            ".SH SEE ALSO",
            ",\n".join(f"\\fB{roff(o)}\\fR(1)" for o in others)]
    return "\n".join(out) + "\n"


def _first_sentence(text: str) -> str:
    text = " ".join(inspect.cleandoc(text or "").split("\n\n")[0].split())
    return text.split(". ")[0].rstrip(".") or "an lxcpy tool"


def render(root: Path = ROOT, strict: bool = True) -> dict[str, str]:
    """Every generated file: relative path -> content.

    Not ``strict``: a launcher whose module is not there yet (a tool being written) is left
    out, with a warning.
    """
    found = tools(root)
    if not strict:
        for prog, (module_name, _) in list(found.items()):
            try:
                importlib.import_module(module_name)
            except ImportError as exc:
                sys.stderr.write(f"skipped {prog}: {exc}\n")
                del found[prog]
    files: dict[str, str] = {}
    completions: dict[str, list[str]] = {}
    for prog, (module_name, entry) in found.items():
        module = importlib.import_module(module_name)
        others = [o for o in found if o != prog]
        command = click_command(module_name, entry)
        if command is not None:
            ctx = click.Context(command, info_name=prog, **command.context_settings)
            pieces = " ".join(command.collect_usage_pieces(ctx))
            doc = command.help or ""
            rows = _option_rows(command)
            files[f"man/man1/{prog}.1"] = _man(
                prog, _first_sentence(doc), synopsis(prog, module.__doc__ or "",
                                                     f"{prog} {pieces}"),
                _paragraphs(inspect.cleandoc(doc) + "\n\n" + _rest(prog, module.__doc__ or "")),
                rows, None, others)
            opts = [o for p in command.get_params(ctx) if isinstance(p, click.Option)
                    for o in (*p.opts, *p.secondary_opts)]
        else:
            parser_fn = getattr(module, "_parser", None)
            if parser_fn is not None:  # argparse
                parser = parser_fn()
                raw = parser.format_help()
                usage = " ".join(parser.format_usage().split())
                fallback = usage.removeprefix("usage: ")
                opts = [o for a in parser._actions for o in a.option_strings]
                subs = [c for a in parser._actions if a.choices and not a.option_strings
                        and isinstance(a.choices, dict) for c in a.choices]
                opts += subs
                summary = parser.description or _first_sentence(module.__doc__ or "")
            else:  # getopt, with a USAGE text
                raw = getattr(module, "USAGE", "")
                opts = sorted(set(re.findall(r"(?<![\w-])(-[a-zA-Z])\b", raw)))
                summary = _first_sentence(_rest(prog, module.__doc__ or ""))
                summary = summary.removeprefix("As LXC's: ")
                fallback = prog
            doc = module.__doc__ or ""
            files[f"man/man1/{prog}.1"] = _man(
                prog, summary, synopsis(prog, doc, fallback), _paragraphs(_rest(prog, doc)), [],
                raw, others)
        # not -?: a word list for compgen -W is expanded, and -? is a glob
        completions[prog] = sorted(set(opts) - {"-?"})
    files["completion/lxc"] = _completion(completions)
    return files


def _completion(completions: dict[str, list[str]]) -> str:
    out = ["# bash completion for lxcpy's tools; generated by `python -m lxcpy.cli.docs`",
           "# from the click declarations: do not edit.", "",
           "_lxcpy_containers() {",
           "    local path='' i",
           "    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do",
           '        case "${COMP_WORDS[i]}" in',
           '            -P | --lxcpath) path="${COMP_WORDS[i + 1]}" ;;',
           '            --lxcpath=*) path="${COMP_WORDS[i]#--lxcpath=}" ;;',
           "        esac",
           "    done",
           '    if [[ -n "$path" ]]; then',
           '        lxc-ls -1 -P "$path" 2>/dev/null',
           "    else",
           "        lxc-ls -1 2>/dev/null",
           "    fi",
           "}", "",
           "_lxcpy() {",
           '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD - 1]}" opts',
           '    case "$1" in']
    for prog, opts in completions.items():
        out.append(f"        {prog}) opts='{' '.join(opts)}' ;;")
    out += ["        *) return ;;",
            "    esac",
            '    case "$prev" in',
            "        -n | --name)",
            '            if [[ " $opts " == *" --name "* ]]; then',
            '                mapfile -t COMPREPLY < <(compgen -W "$(_lxcpy_containers)" '
            '-- "$cur")',
            "                return",
            "            fi ;;",
            "        -P | --lxcpath | -o | --logfile | -f | --rcfile)",
            '            mapfile -t COMPREPLY < <(compgen -f -- "$cur")',
            "            return ;;",
            "    esac",
            '    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")',
            "}", ""]
    out.append(f"complete -F _lxcpy -o default {' '.join(completions)}")
    return "\n".join(out) + "\n"


def main() -> int:
    files = render(strict=False)
    for page in sorted((ROOT / "man/man1").glob("*.1")):
        if f"man/man1/{page.name}" not in files:  # a tool that is gone
            page.unlink()
            sys.stdout.write(f"removed man/man1/{page.name}\n")
    for rel, text in files.items():
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            sys.stdout.write(f"wrote {rel}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
