//! Fix generators, one file per checklist item, each function keyed by rule id in
//! [`super::GENERATORS`].

pub mod adapters;
pub mod common;
pub mod cors;
pub mod csrf;
pub mod debug;
pub mod dependencies;
pub mod headers;
pub mod input_validation;
pub mod production_server;
pub mod proxy;
pub mod request_limits;
pub mod secret_key;
pub mod session;
pub mod tls;
pub mod xss;

use super::FixPlan;

/// The commit subject's summary for an item's applied plans (after `harden(<item>): `).
pub fn summary(item: &str, plans: &[FixPlan]) -> String {
    match item {
        "debug" => {
            let n = plans.iter().map(|p| p.fixes.len()).sum::<usize>();
            format!(
                "stop switching debug mode on in {n} place{}",
                if n == 1 { "" } else { "s" }
            )
        }
        _ => {
            let mut titles: Vec<&str> = plans.iter().map(|p| p.title.as_str()).collect();
            titles.dedup();
            let joined = titles.join("; ");
            // The subject stays under 72 characters; the body lists every fix.
            let room = SUBJECT_MAX.saturating_sub(format!("harden({item}): ").len());
            if joined.chars().count() <= room {
                return joined;
            }
            let more = match titles.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            let keep = room.saturating_sub(more.len() + 1);
            let first = titles.first().copied().unwrap_or_default();
            let cut: String = if first.chars().count() > keep {
                let mut c: String = first.chars().take(keep.saturating_sub(1)).collect();
                c.push('…');
                c
            } else {
                first.to_string()
            };
            format!("{cut}{more}")
        }
    }
}

/// Longest commit subject, in characters.
pub const SUBJECT_MAX: usize = 71;

#[cfg(test)]
mod summary_tests {
    use super::*;
    use crate::fix::Applicability;

    #[test]
    fn subjects_stay_under_72_characters() {
        let plans: Vec<FixPlan> = (0..12)
            .map(|i| {
                FixPlan::new(
                    "csrf/form-missing-token",
                    format!(
                        "add {{{{ csrf_token() }}}} to the POST form in templates/page{i}.html"
                    ),
                    Applicability::Safe,
                )
            })
            .collect();
        let subject = format!("harden(csrf): {}", summary("csrf", &plans));
        assert!(subject.chars().count() < 72, "{subject}");
        assert!(subject.ends_with("and 11 more"), "{subject}");
        let one = [FixPlan::new("x/y", "short", Applicability::Safe)];
        assert_eq!(summary("xss", &one), "short");
    }
}
