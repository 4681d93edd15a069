//! Host tier: the manual pages. Every `*.5` and `*.8` page in the workspace must be clean
//! under `mandoc -Tlint -W warning`, and the pages must stay true to the programs: every
//! command and option that `switchctl` and `switchd` print in their usage is documented,
//! and the pages document none that the programs do not have.
//!
//! The usage texts come from the binaries themselves (run with `-?`, which no getopt-style
//! program can accept as an option), so the test follows the code without parsing Rust.

use regress::workspace::bin;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The root of the workspace (the parent of `regress/`).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("regress/ lives in the workspace")
        .to_path_buf()
}

/// Every file under `dir` whose name ends in `.5` or `.8`, skipping `target/` and hidden
/// directories (`.git`).
fn find_pages(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ty = entry
            .file_type()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if ty.is_dir() {
            if name != "target" && !name.starts_with('.') {
                find_pages(&path, out);
            }
        } else if ty.is_file() && (name.ends_with(".5") || name.ends_with(".8")) {
            out.push(path);
        }
    }
}

#[test]
fn every_manual_page_is_mandoc_lint_clean() {
    let root = workspace();
    let mut pages = Vec::new();
    find_pages(&root, &mut pages);
    pages.sort();
    for must in ["switchd/switchd.8", "ctl/switchctl.8"] {
        assert!(
            pages.contains(&root.join(must)),
            "{must} not found among the pages: {pages:?}"
        );
    }
    let mut failures = Vec::new();
    for page in &pages {
        let out = Command::new("mandoc")
            .args(["-Tlint", "-W", "warning"])
            .arg(page)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run mandoc ({e}); regress/setup installs it (Debian package mandoc)")
            });
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() || !said.is_empty() {
            failures.push(format!(
                "{} ({}):\n{said}",
                page.strip_prefix(&root).unwrap_or(page).display(),
                out.status
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "mandoc -Tlint -W warning is not clean:\n{}",
        failures.join("\n")
    );
}

/// The usage text a program prints for an option it does not have: `-?`.
fn usage(program: &str) -> String {
    let out = Command::new(bin(program))
        .arg("-?")
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    assert_eq!(out.status.code(), Some(1), "{program} -? must fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        err.contains(&format!("usage: {program} ")),
        "{program} -? printed no usage: {err}"
    );
    err
}

fn read_page(rel: &str) -> String {
    let path = workspace().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of `page` that begin with `prefix`, with runs of blanks made single.
fn macro_lines(page: &str, prefix: &str) -> BTreeSet<String> {
    page.lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The option groups of a usage line, `[-dnv]`, `[-f file]`, `[-D macro=value]`, as
/// (flag letters, argument): `("dnv", None)`, `("f", Some("file"))`, `("D", Some("macro=value"))`.
fn option_groups(usage_line: &str) -> Vec<(String, Option<String>)> {
    let mut groups = Vec::new();
    let mut rest = usage_line;
    while let Some(start) = rest.find("[-") {
        let end = rest[start..]
            .find(']')
            .map(|e| start + e)
            .unwrap_or_else(|| panic!("unbalanced [ in {usage_line:?}"));
        let inner = &rest[start + 2..end];
        let mut words = inner.split_whitespace();
        let flags = words.next().unwrap_or_default().to_string();
        groups.push((flags, words.next().map(str::to_string)));
        rest = &rest[end + 1..];
    }
    groups
}

/// Every option in the usage line of `program` is in the SYNOPSIS (`.Op Fl x ...`) and in
/// the option list (`.It Fl x`) of its page, and the option list has no other options.
fn check_options(program: &str, usage_text: &str, page_rel: &str, problems: &mut Vec<String>) {
    let page = read_page(page_rel);
    let first = usage_text
        .lines()
        .find(|l| l.starts_with("usage: "))
        .expect("a usage line");
    let groups = option_groups(first);
    assert!(!groups.is_empty(), "no options found in {first:?}");
    let ops = macro_lines(&page, ".Op Fl ");
    let items: BTreeSet<char> = macro_lines(&page, ".It Fl ")
        .iter()
        .filter_map(|l| l[".It Fl ".len()..].chars().next())
        .collect();
    let mut letters = BTreeSet::new();
    for (flags, arg) in &groups {
        let synopsis = match arg {
            // `macro=value` is written `Ar macro Ns = Ns Ar value`; its first word will do.
            Some(a) => format!(".Op Fl {flags} Ar {}", a.split('=').next().unwrap_or(a)),
            None => format!(".Op Fl {flags}"),
        };
        if !ops
            .iter()
            .any(|l| l == &synopsis || l.starts_with(&format!("{synopsis} ")))
        {
            problems.push(format!(
                "{page_rel}: SYNOPSIS lacks {synopsis:?} for {program}'s [-{flags}{}]",
                arg.as_deref().map(|a| format!(" {a}")).unwrap_or_default()
            ));
        }
        for c in flags.chars() {
            letters.insert(c);
            if !items.contains(&c) {
                problems.push(format!(
                    "{page_rel}: no \".It Fl {c}\" for {program}'s option -{c}"
                ));
            }
        }
    }
    for c in items.difference(&letters) {
        problems.push(format!(
            "{page_rel}: documents option -{c}, which {program}'s usage does not list"
        ));
    }
}

/// Words of switchctl's usage that start the arguments even before an optional part:
/// `add flow switch flow` gives `.It Cm add flow Ar switch Ar flow`.
const ARG_WORDS: &[&str] = &["switch", "file"];

/// The commands in switchctl's usage, expanded: `show switches|ports [switch]` gives
/// `.It Cm show switches Op Ar switch` and `.It Cm show ports Op Ar switch`.
fn switchctl_commands(usage_text: &str) -> BTreeSet<String> {
    let mut lines = usage_text.lines().skip_while(|l| l.trim() != "commands:");
    assert!(lines.next().is_some(), "no \"commands:\" in {usage_text}");
    let mut items = BTreeSet::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let mut expanded = vec![".It Cm".to_string()];
        // Words after an optional part are arguments: `parse [--check] file ...` gives
        // `.It Cm parse Oo Fl -check Oc Ar file ...`.
        let mut in_args = false;
        // An optional part of several words, `[forward to tcp:host:port]`: keywords and
        // then an argument, `Op Cm forward to Ar tcp:host:port`.
        let mut group: Option<Vec<&str>> = None;
        for word in line.split_whitespace() {
            if let Some(g) = group.as_mut() {
                g.push(word);
                if !word.ends_with(']') {
                    continue;
                }
            } else if word.starts_with('[') && !word.ends_with(']') {
                group = Some(vec![word]);
                continue;
            }
            let suffixes: Vec<String> = if let Some(g) = group.take() {
                in_args = true;
                let words: Vec<&str> = g
                    .iter()
                    .map(|w| w.trim_start_matches('[').trim_end_matches(']'))
                    .collect();
                let (arg, keywords) = words.split_last().unwrap_or((&"", &[]));
                vec![format!(" Op Cm {} Ar {arg}", keywords.join(" "))]
            } else if in_args && word == "..." {
                vec![" ...".to_string()]
            } else if (in_args || ARG_WORDS.contains(&word)) && !word.starts_with('[') {
                in_args = true;
                vec![format!(" Ar {word}")]
            } else if let Some(arg) = word.strip_prefix('[').and_then(|w| w.strip_suffix(']')) {
                in_args = true;
                // `[--check]` is a flag (`Oo Fl -check Oc`), `[switch]` an argument.
                match arg.strip_prefix('-') {
                    Some(flag) => vec![format!(" Oo Fl {flag} Oc")],
                    None => vec![format!(" Op Ar {arg}")],
                }
            } else {
                word.split('|').map(|w| format!(" {w}")).collect()
            };
            expanded = expanded
                .iter()
                .flat_map(|e| suffixes.iter().map(move |s| format!("{e}{s}")))
                .collect();
        }
        items.extend(expanded);
    }
    assert!(!items.is_empty(), "no commands in {usage_text}");
    items
}

#[test]
fn pages_document_exactly_the_options_and_commands_of_the_code() {
    let mut problems = Vec::new();

    let switchd = usage("switchd");
    check_options("switchd", &switchd, "switchd/switchd.8", &mut problems);

    let switchctl = usage("switchctl");
    check_options("switchctl", &switchctl, "ctl/switchctl.8", &mut problems);
    let wanted = switchctl_commands(&switchctl);
    let documented = macro_lines(&read_page("ctl/switchctl.8"), ".It Cm ");
    for w in wanted.difference(&documented) {
        problems.push(format!(
            "ctl/switchctl.8: no {w:?} for a command in switchctl's usage"
        ));
    }
    for d in documented.difference(&wanted) {
        problems.push(format!(
            "ctl/switchctl.8: {d:?} documents a command that switchctl's usage does not list"
        ));
    }

    assert!(
        problems.is_empty(),
        "the manual pages and the code disagree:\n{}",
        problems.join("\n")
    );
}
