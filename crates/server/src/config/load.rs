//! Reading configuration: the file, its includes, then `--directive`
//! arguments appended as further lines, exactly as Redis combines them.

use std::path::{Path, PathBuf};

use super::table::{self, repr};
use super::{Config, Loaded};

/// A fatal configuration problem, printed the way Redis prints it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("\n*** FATAL CONFIG FILE ERROR (ferrokv {version}) ***\nReading the configuration file, at line {line}\n>>> '{text}'\n{message}", version = env!("CARGO_PKG_VERSION"))]
    Line { line: usize, text: String, message: String },
    #[error("Fatal error, can't open config file '{path}': {source}")]
    Open { path: String, source: std::io::Error },
}

/// Parses `[config-file] [--directive value ...]` (the process arguments
/// after the program name).
pub fn load(args: &[String]) -> Result<Loaded, ConfigError> {
    let mut rest = args;
    let mut file = None;
    let mut text = String::new();
    if let Some(first) = args.first().filter(|a| !a.starts_with('-') || a.as_str() == "-") {
        rest = &args[1..];
        if first == "-" {
            let mut stdin = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin).map_err(|source| ConfigError::Open { path: "-".into(), source })?;
            text.push_str(&stdin);
        } else {
            let path = absolute(Path::new(first));
            text.push_str(&read(&path)?);
            file = Some(path);
        }
    }
    let options = options_text(rest);
    if !options.is_empty() {
        text.push('\n');
        text.push_str(&options);
    }
    let mut config = Config::default();
    apply_text(&mut config, &text, 0)?;
    Ok(Loaded { config, file })
}

/// A `user` line's syntax, as Redis checks it while reading (commands are
/// checked when the users load, once the command table exists).
fn check_user(config: &Config, words: &[String]) -> Result<(), String> {
    let argv: Vec<bytes::Bytes> = words.iter().map(|w| bytes::Bytes::copy_from_slice(w.as_bytes())).collect();
    let seen: Vec<bytes::Bytes> = config.users.iter().filter_map(|u| u.first()).map(|n| bytes::Bytes::copy_from_slice(n.as_bytes())).collect();
    let catalog = ferrokv_acl::Catalog::new();
    ferrokv_acl::users::check_directive(&catalog, &argv, &seen).map_err(|(at, e)| {
        let at = argv.get(at).map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
        format!("Error in user declaration '{at}': {e}")
    })
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Open { path: path.display().to_string(), source })
}

/// `--port 7000 --save ""` becomes "port \"7000\"\nsave \"\"".
fn options_text(args: &[String]) -> String {
    let mut out = String::new();
    for a in args {
        if let Some(name) = a.strip_prefix("--").filter(|n| !n.is_empty()) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(name);
            out.push(' ');
        } else {
            out.push_str(&repr(a.as_bytes()));
            out.push(' ');
        }
    }
    out
}

fn apply_text(config: &mut Config, text: &str, depth: usize) -> Result<(), ConfigError> {
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.trim_matches([' ', '\t', '\r', '\n']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |message: &str| ConfigError::Line { line: i + 1, text: line.to_string(), message: message.to_string() };
        let Some(words) = ferrokv_resp::split_args(line.as_bytes()) else {
            return Err(fail("Unbalanced quotes in configuration line"));
        };
        let words: Vec<String> = words.into_iter().map(|w| String::from_utf8_lossy(&w).into_owned()).collect();
        let Some((name, values)) = words.split_first() else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if name == "include" {
            let [path] = values else {
                return Err(fail("wrong number of arguments"));
            };
            if depth > 16 {
                return Err(fail("include nesting too deep"));
            }
            let included = read(&absolute(Path::new(path)))?;
            apply_text(config, &included, depth + 1)?;
            continue;
        }
        if name == "user" {
            check_user(config, &words).map_err(|m| fail(&m))?;
            config.users.push(words[1..].to_vec());
            continue;
        }
        let Some(directive) = table::find(&name) else {
            return Err(fail("Bad directive or wrong number of arguments"));
        };
        if values.is_empty() || (!directive.multi_arg && values.len() != 1) {
            return Err(fail(if values.is_empty() { "wrong number of arguments" } else { "Bad directive or wrong number of arguments" }));
        }
        directive.set(config, values).map_err(|m| fail(&m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn file_then_arguments() {
        let dir = tempfile::tempdir().unwrap();
        let inc = dir.path().join("inc.conf");
        std::fs::write(&inc, "timeout 7\n").unwrap();
        let main = dir.path().join("main.conf");
        std::fs::write(&main, format!("# comment\nport 7000\ninclude {}\nrequirepass \"a b\"\nmaxclients 5\n", inc.display())).unwrap();
        let loaded = load(&args(&[main.to_str().unwrap(), "--maxclients", "9"])).unwrap();
        assert_eq!(loaded.config.port, 7000);
        assert_eq!(loaded.config.timeout, 7);
        assert_eq!(loaded.config.requirepass, "a b");
        assert_eq!(loaded.config.maxclients, 9);
        assert_eq!(loaded.file.as_deref(), Some(main.as_path()));
    }

    #[test]
    fn errors_name_the_line() {
        let err = load(&args(&["--port", "6391", "--bogus", "1"])).unwrap_err().to_string();
        assert!(err.contains("at line 3\n>>> 'bogus \"1\"'\nBad directive or wrong number of arguments"), "{err}");
        let err = load(&args(&["--port"])).unwrap_err().to_string();
        assert!(err.contains(">>> 'port'\nwrong number of arguments"), "{err}");
        let err = load(&args(&["--port", "abc"])).unwrap_err().to_string();
        assert!(err.contains("argument couldn't be parsed into an integer"), "{err}");
    }
}
