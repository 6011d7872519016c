"""`zhikong rules`: test, evaluate, publish, list and show rule documents."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from zhikong.console import CliError, engine_from_context, say, settings_from_context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from zhikong.rules.documents import DocumentIssue, RuleDocument, SourceFormat
    from zhikong.rules.evaluation import CaseResult, TestReport
    from zhikong.rules.service import RegisteredRule

rules_app = typer.Typer(
    help="Rule documents: test, eval, publish, list, show.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

_STATUS = {"draft": "草稿 · draft", "published": "已发布 · published"}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _sessions(ctx: typer.Context) -> sessionmaker[Session]:
    from zhikong.store.engine import make_sessionmaker

    return make_sessionmaker(engine_from_context(ctx))


def _read(path: Path) -> tuple[str, SourceFormat]:
    """The text of a rule document file and its format (by suffix: .json, else YAML)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a directory, not a rule document") from None
    except UnicodeDecodeError:
        raise CliError(f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None
    return text, "json" if path.suffix.lower() == ".json" else "yaml"


def _refuse(what: str, issues: tuple[DocumentIssue, ...] | list[DocumentIssue]) -> NoReturn:
    """List every issue on stdout, then fail with one line."""
    say(f"{len(issues)} 处问题 · {len(issues)} issue(s):", emoji=False)
    for issue in issues:
        say(f"  {issue}", emoji=False)
    raise CliError(f"{what}: {len(issues)} issue(s) (listed above), first: {issues[0]}")


def _load(path: Path) -> tuple[str, SourceFormat, RuleDocument]:
    from zhikong.rules.checks import load_document
    from zhikong.rules.documents import RuleDocumentError

    text, source_format = _read(path)
    try:
        return text, source_format, load_document(text, source_format)
    except RuleDocumentError as exc:
        _refuse(f"无效的规则文件 · invalid rule document {path}", exc.issues)


def _case_line(case: CaseResult) -> str:
    head = f"{case.index + 1} {case.name} ({case.at.isoformat()})"
    if case.passed:
        return f"  ✓ {head}"
    if case.error is not None:
        return f"  ✗ {head}: 出错 · error: {case.error}"
    return f"  ✗ {head}: 期望 · expected {_json(case.expected)}, 实际 · got {_json(case.actual)}"


def _print_report(report: TestReport, *, verbose: bool) -> None:
    say(f"规则 · rule {report.rule_id} {report.rule_version}", emoji=False)
    for case in report.cases:
        if verbose or not case.passed:
            say(_case_line(case), emoji=False)
    passed = len(report.cases) - len(report.failures)
    total = len(report.cases)
    say(f"通过 {passed}/{total} 个用例 · {passed} of {total} test cases passed", emoji=False)


@rules_app.command("test")
def test_command(
    path: Annotated[Path, typer.Argument(help="Rule document (.yaml, .yml or .json).")],
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every case, not only failures.")
    ] = False,
) -> None:
    """Run a rule document's test cases; exit 1 if any fails."""
    from zhikong.rules.evaluation import run_tests

    _, _, document = _load(path)
    report = run_tests(document)
    _print_report(report, verbose=verbose)
    if not report.passed:
        raise typer.Exit(1)


def _parse_day(text: str, option: str) -> date:
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{option} must be a date written YYYY-MM-DD, not {text!r}") from None


def _read_input(source: str) -> Any:
    if source == "-":
        text = sys.stdin.read()
        name = "standard input"
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CliError(f"no such file: {source}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"cannot read {source}: {exc}") from None
        name = source

    def no_constant(value: str) -> Any:
        raise ValueError(f"{value} is not a JSON number")

    try:
        data = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{name} is not JSON: line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:
        raise CliError(f"{name} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise CliError(f"{name} must hold a JSON object (the rule's input)")
    return data


@rules_app.command("eval")
def eval_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Rule document (.yaml, .yml or .json).")],
    input_source: Annotated[
        str, typer.Option("--input", help="JSON file with the input object, or - for stdin.")
    ],
    at: Annotated[
        str | None,
        typer.Option("--at", help="Evaluation date YYYY-MM-DD (default: today, local time)."),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Say why, in Chinese and English.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Evaluate a rule document on a JSON input."""
    from zhikong.clock import SystemClock, local_date
    from zhikong.rules.checks import value_issues
    from zhikong.rules.documents import OutsideValidityError, RuleEvaluationError
    from zhikong.rules.evaluation import compile_rule

    _, _, document = _load(path)
    data = _read_input(input_source)
    issues = value_issues(document.input, data)
    if issues:
        _refuse("输入不符合规则的输入定义 · the input does not fit the rule's input schema", issues)
    if at is None:
        day = local_date(SystemClock(), settings_from_context(ctx).timezone)
    else:
        day = _parse_day(at, "--at")
    try:
        evaluation = compile_rule(document).evaluate(data, day, explain=explain)
    except OutsideValidityError as exc:
        raise CliError(str(exc)) from None
    except RuleEvaluationError as exc:
        raise CliError(f"评估出错 · evaluation failed: {exc}") from None
    if as_json:
        sys.stdout.write(json.dumps(evaluation.as_json(), ensure_ascii=False, indent=2) + "\n")
        return
    say(f"结果 · result: {_json(evaluation.result)}", emoji=False)
    say(
        f"规则 · rule: {evaluation.rule_id} {evaluation.rule_version}, "
        f"日期 · date: {evaluation.at.isoformat()}",
        emoji=False,
    )
    if evaluation.parameters:
        values = ", ".join(f"{k} = {_json(v)}" for k, v in evaluation.parameters.items())
        say(f"参数 · parameters: {values}", emoji=False)
    if evaluation.explanation is not None:
        say(f"说明: {evaluation.summary('zh')}", emoji=False)
        say(f"Explanation: {evaluation.summary('en')}", emoji=False)
        say("决定过程 · decision:", emoji=False)
        for line in evaluation.explanation.render("zh", evaluation.labels)[1:]:
            say(line, emoji=False)


@rules_app.command("publish")
def publish_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Rule document (.yaml, .yml or .json).")],
    actor: Annotated[
        str, typer.Option("--actor", help="Who publishes, as kind:identifier (audited).")
    ] = "cli:operator",
) -> None:
    """Publish a rule document: its test cases must pass; audited; immutable afterwards."""
    from zhikong.audit.service import InvalidEntryError, check_reference
    from zhikong.clock import SystemClock
    from zhikong.rules.documents import RuleDocumentError
    from zhikong.rules.service import RuleImmutableError, RuleTestsFailedError, publish_text
    from zhikong.store.engine import transaction

    try:
        check_reference(actor, "--actor")
    except InvalidEntryError as exc:
        raise CliError(str(exc)) from None
    text, source_format, _ = _load(path)
    sessions = _sessions(ctx)
    try:
        with transaction(sessions) as session:
            result = publish_text(
                session, SystemClock(), text, actor=actor, source_format=source_format
            )
    except RuleDocumentError as exc:
        _refuse(f"发布被拒绝 · publish refused for {path}", exc.issues)
    except RuleTestsFailedError as exc:
        _print_report(exc.report, verbose=False)
        failed = len(exc.report.failures)
        raise CliError(
            f"发布被拒绝 · publish refused: {failed} of {len(exc.report.cases)} test case(s) "
            "fail (listed above)"
        ) from None
    except RuleImmutableError as exc:
        raise CliError(f"发布被拒绝 · publish refused: {exc}") from None
    rule = result.rule
    passed = len(result.report.cases)
    if result.changed:
        say(
            f"已发布 · published {rule.rule_id} {rule.version}: {passed} 个用例通过 · "
            f"{passed} test cases passed; sha256 {rule.sha256}",
            emoji=False,
        )
    else:
        say(
            f"已发布，无变化 · already published with identical content: "
            f"{rule.rule_id} {rule.version}; sha256 {rule.sha256}",
            emoji=False,
        )


def _window(rule: RegisteredRule) -> str:
    until = rule.valid_until.isoformat() if rule.valid_until else "…"
    return f"{rule.valid_from.isoformat()} → {until}"


@rules_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="draft or published.")] = None,
) -> None:
    """List stored rule versions, newest version first."""
    from zhikong.rules.models import STATUSES
    from zhikong.rules.service import list_rules

    if status is not None and status not in STATUSES:
        raise CliError(f"--status must be one of {', '.join(STATUSES)}")
    with _sessions(ctx)() as session:
        rules = list_rules(session, status=status)
    if not rules:
        say("没有规则 · no rules stored", emoji=False)
        return
    for rule in rules:
        say(
            f"{rule.rule_id}  {rule.version}  {_STATUS[rule.status]}  {_window(rule)}  "
            f"{','.join(rule.regions)}  {rule.title_zh} · {rule.title_en}",
            emoji=False,
        )
    say(f"共 {len(rules)} 个版本 · {len(rules)} version(s)", emoji=False)


@rules_app.command("show")
def show_command(
    ctx: typer.Context,
    rule_id: Annotated[str, typer.Argument(help="Rule id.")],
    version: Annotated[
        str | None, typer.Option("--version", help="Version (default: the newest).")
    ] = None,
) -> None:
    """Show a stored rule version: metadata, then the document as authored."""
    from zhikong.rules.service import RuleNotFoundError, get_rule

    with _sessions(ctx)() as session:
        try:
            rule = get_rule(session, rule_id, version)
        except RuleNotFoundError as exc:
            raise CliError(str(exc)) from None
    say(f"规则 · rule: {rule.rule_id}", emoji=False)
    say(f"版本 · version: {rule.version}", emoji=False)
    state = _STATUS[rule.status]
    if rule.published_at is not None:
        state += f" ({rule.published_at.isoformat()} by {rule.published_by})"
    say(f"状态 · status: {state}", emoji=False)
    say(f"标题 · title: {rule.title_zh} · {rule.title_en}", emoji=False)
    say(f"有效期 · validity: {_window(rule)}", emoji=False)
    say(f"地区 · regions: {', '.join(rule.regions)}", emoji=False)
    say(f"测试用例 · test cases: {rule.test_count}", emoji=False)
    say(f"sha256: {rule.sha256}", emoji=False)
    say(f"保存 · saved: {rule.created_at.isoformat()} by {rule.created_by}", emoji=False)
    say(f"--- 原文 · source ({rule.source_format}) ---", emoji=False)
    sys.stdout.write(rule.source if rule.source.endswith("\n") else rule.source + "\n")


@rules_app.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of rule documents."""
    from zhikong.rules.documents import json_schema

    sys.stdout.write(json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n")
