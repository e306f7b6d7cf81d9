//! Fix generators, one file per checklist item, each function keyed by rule id in
//! [`super::GENERATORS`].

pub mod debug;

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
            titles.join("; ")
        }
    }
}
