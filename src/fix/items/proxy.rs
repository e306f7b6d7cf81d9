//! Fix for the proxy item: wrap the WSGI app in Werkzeug's ProxyFix where the app is created,
//! trusting one proxy per forwarded header (the count a visible parameter to raise).

use ruff_text_size::Ranged;

use super::super::{Applicability, FixContext, FixPlan, Generated};
use super::common::{app_site_patch, ensure_imports, fail_all, insert_after};
use crate::finding::Finding;

pub fn missing_proxy_fix(ctx: &FixContext, findings: &[&Finding]) -> Vec<Generated> {
    let Some(first) = findings.first() else {
        return Vec::new();
    };
    let fail = |r: &str| fail_all(findings, r);
    if crate::checks::proxy::has_proxy_fix(ctx.facts) {
        return fail("ProxyFix is applied already");
    }
    let (site, mut patch) = match app_site_patch(ctx, "wrap in ProxyFix") {
        Ok(found) => found,
        Err(e) => return fail(&e),
    };
    let var = &site.var;
    let lines = format!(
        "# Each count is how many proxies in front of the app set that X-Forwarded-* header;\n\
         # trusting more than there are lets clients spoof their address.\n\
         {var}.wsgi_app = ProxyFix({var}.wsgi_app, x_for=1, x_proto=1, x_host=1)"
    );
    if let Err(e) = insert_after(&mut patch, site.stmt.range(), &lines) {
        return fail(&e);
    }
    if let Err(e) = ensure_imports(
        &mut patch,
        &["from werkzeug.middleware.proxy_fix import ProxyFix"],
    ) {
        return fail(&e);
    }
    let patch = match patch.finish() {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string()),
    };
    let mut plan = FixPlan::new(
        &first.rule,
        "trust one proxy's X-Forwarded-For, -Proto and -Host with ProxyFix",
        Applicability::Safe,
    )
    .with_patch(patch);
    for f in findings {
        plan = plan.fixing(f);
    }
    vec![Ok(plan)]
}
