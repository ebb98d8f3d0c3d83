//! Lease holders: who holds a session, and whether that holder is a process that has died.

use std::time::Duration;

use serde::Deserialize;

/// How long a session's lease lasts and how long `resume_session` waits for a busy session.
/// JSON: `{ttlMs?: 30000, waitMs?: 0}`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaseOptions {
    /// A holder that stops renewing (it died, or stalled) loses the lease after this long.
    #[serde(
        default = "default_ttl",
        alias = "ttl_ms",
        rename = "ttlMs",
        with = "crate::types::millis"
    )]
    pub ttl: Duration,
    /// How long `resume_session` waits for a session another client holds before it returns
    /// `SessionBusy` (0: at once).
    #[serde(
        default,
        alias = "wait_ms",
        rename = "waitMs",
        with = "crate::types::millis"
    )]
    pub wait: Duration,
}

fn default_ttl() -> Duration {
    Duration::from_secs(30)
}

impl Default for LeaseOptions {
    fn default() -> Self {
        LeaseOptions {
            ttl: default_ttl(),
            wait: Duration::ZERO,
        }
    }
}

/// A client's identity as a lease holder: `host/boot/pidns/pid/nonce`. Another client on the same
/// machine and in the same pid namespace can tell that the holder's process has died, and take the
/// lease at once instead of waiting for it to expire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder(String);

impl Holder {
    /// This process's identity, with a fresh nonce (one per client).
    pub fn current() -> Holder {
        let (host, boot, pidns) = machine();
        Holder(format!(
            "{host}/{boot}/{pidns}/{}/{}",
            std::process::id(),
            &crate::util::new_id()[..8]
        ))
    }

    /// A holder with the given identity text (tests build ghosts with it).
    #[cfg(test)]
    pub(crate) fn from_raw(text: &str) -> Holder {
        Holder(text.to_owned())
    }

    /// The identity text stored in the lease.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Refuses (`SessionBusy`) when `holder` is another client whose lease runs until
    /// `until_ms`, later than `now_ms`, and is not a dead process of this machine.
    pub(crate) fn check_free(
        &self,
        session_id: &str,
        holder: Option<&str>,
        until_ms: i64,
        now_ms: i64,
    ) -> crate::Result<()> {
        match holder {
            Some(h) if h != self.as_str() && until_ms > now_ms && !self.sees_dead(h) => {
                Err(super::busy(session_id, Some(h)))
            }
            _ => Ok(()),
        }
    }

    /// Whether `other` names a process of this machine and pid namespace that no longer runs.
    pub fn sees_dead(&self, other: &str) -> bool {
        let mine: Vec<&str> = self.0.split('/').collect();
        let theirs: Vec<&str> = other.split('/').collect();
        if mine.len() != 5 || theirs.len() != 5 || mine[1] == "?" || mine[2] == "?" {
            return false;
        }
        if mine[..3] != theirs[..3] {
            return false;
        }
        match theirs[3].parse::<u32>() {
            Ok(pid) if pid == std::process::id() => false,
            Ok(pid) => {
                cfg!(target_os = "linux") && !std::path::Path::new(&format!("/proc/{pid}")).exists()
            }
            Err(_) => false,
        }
    }
}

/// The host name, the boot id and the pid namespace ("?" when unknown).
fn machine() -> (String, String, String) {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().replace('/', "_"))
            .filter(|s| !s.is_empty())
    };
    let host = read("/proc/sys/kernel/hostname")
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "?".to_owned())
        .replace('/', "_");
    let boot = read("/proc/sys/kernel/random/boot_id").unwrap_or_else(|| "?".to_owned());
    let pidns = std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| {
            p.to_string_lossy()
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "?".to_owned());
    (host, boot, pidns)
}

/// A holder for messages: host and pid.
pub(crate) fn display_holder(holder: &str) -> String {
    let parts: Vec<&str> = holder.split('/').collect();
    match parts.as_slice() {
        [host, _, _, pid, _] => format!("process {pid} on {host}"),
        _ => "another client".to_owned(),
    }
}

/// A URL with its password (in the authority or as `?password=`) replaced by `***`, for messages.
pub(crate) fn without_password(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return if url.contains('@') || url.contains("password") {
            "(a URL)".to_owned()
        } else {
            url.to_owned()
        };
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    if u.query().is_some_and(|q| q.contains("password=")) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "password" { "***".into() } else { v };
                (k.into_owned(), v.into_owned())
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_process_on_this_machine_is_seen_dead() {
        let me = Holder::current();
        let parts: Vec<&str> = me.as_str().split('/').collect();
        // pid 0 never names a user process's /proc entry.
        let dead = format!(
            "{}/{}/{}/{}/nonce",
            parts[0],
            parts[1],
            parts[2],
            u32::MAX - 1
        );
        let alive = Holder::current();
        assert!(!me.sees_dead(alive.as_str()), "this very process is alive");
        if cfg!(target_os = "linux") {
            assert!(me.sees_dead(&dead));
        }
        let elsewhere = format!(
            "{}/other-boot/{}/{}/nonce",
            parts[0],
            parts[2],
            u32::MAX - 1
        );
        assert!(
            !me.sees_dead(&elsewhere),
            "another machine's process is never judged"
        );
        assert!(!me.sees_dead("garbage"));
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            without_password("postgres://u:s3cret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            without_password("postgres://u@h/db?password=s3cret&sslmode=disable"),
            "postgres://u@h/db?password=***&sslmode=disable"
        );
        assert!(!without_password("host=h password=s3cret").contains("s3cret"));
    }
}
