// Interface texts: Chinese first, English on request (the toggle is remembered).
"use strict";
const TEXTS = {
  zh: {},
  en: {
    "title": "Public credit: graded supervision",
    "nav.overview": "Grade distribution", "nav.list": "Tiered list", "nav.plans": "Random inspections",
    "token.placeholder": "access token", "token.use": "Sign in",
    "overview.title": "Grade distribution", "overview.groupBy": "Group by",
    "group.region": "County", "group.city": "City", "group.industry": "Industry section",
    "overview.total": "Graded entities: ",
    "list.title": "Tiered list", "list.more": "Next page", "list.empty": "No entities match.",
    "f.grade": "Grade", "f.region": "Region code", "f.industry": "Industry", "f.source": "Source",
    "f.any": "Any", "f.apply": "Search", "f.export": "Export CSV",
    "src.medical_procurement": "Medical procurement", "src.fire_products": "Fire products",
    "src.credit_service_agency": "Credit service agencies", "src.hr_penalty": "HR penalties",
    "c.name": "Name", "c.id": "Code", "c.region": "Region", "c.industry": "Industry",
    "c.grade": "Grade", "c.score": "Score", "c.decided": "Decided by",
    "e.grade": "Grade", "e.score": "Score", "e.decidedBy": "Decided by", "e.reasons": "Reasons",
    "e.basis": "Legal basis", "e.tier": "Supervision", "e.timeline": "Record timeline",
    "e.noRecords": "No records.",
    "plans.title": "双随机 inspection plans", "p.task": "Task name",
    "p.department": "Department (blank for a department account)",
    "d.medical_insurance": "Medical insurance bureau", "d.fire_rescue": "Fire and rescue",
    "d.credit_office": "Credit office", "d.hr_social_security": "HR and social security",
    "p.inspectors": "Inspectors (one per line: id,name,capacity)", "p.seed": "Seed (optional)",
    "p.draw": "Draw", "p.plan": "Plan", "p.hash": "Plan hash", "p.candidates": "Candidates",
    "p.ratio": "Ratio", "p.drawn": "Drawn", "p.reason": "Reason", "p.inspectorIds": "Inspectors",
    "p.verify": "Verify plan", "p.valid": "Verified: the plan recomputes identically.",
    "p.invalid": "Verification failed: ", "p.recent": "Recent plans",
    "err.401": "Please sign in with a valid token.", "err.403": "Your role may not see this.",
    "err.503": "A service is unavailable; try again shortly.",
  },
};
// Chinese strings not written in the HTML.
Object.assign(TEXTS.zh, {
  "overview.total": "已评价主体：", "list.empty": "没有符合条件的主体。", "e.noRecords": "无信用记录。",
  "p.valid": "验证通过：计划可按公开输入完全复现。", "p.invalid": "验证未通过：",
  "err.401": "请使用有效的访问令牌登录。", "err.403": "您的角色无权查看此内容。",
  "err.503": "服务暂不可用，请稍后重试。",
});

let LANG = localStorage.getItem("lang") || "zh";

function t(key) {
  if (LANG === "en" && TEXTS.en[key] !== undefined) return TEXTS.en[key];
  return TEXTS.zh[key] !== undefined ? TEXTS.zh[key] : key;
}

function applyLanguage() {
  document.documentElement.lang = LANG === "en" ? "en" : "zh-CN";
  document.querySelectorAll("[data-i18n]").forEach((el) => {
    const key = el.dataset.i18n;
    if (!(key in TEXTS.zh)) TEXTS.zh[key] = el.textContent;  // HTML holds the Chinese text
    el.textContent = t(key);
  });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    const key = el.dataset.i18nPlaceholder;
    if (!(key in TEXTS.zh)) TEXTS.zh[key] = el.placeholder;
    el.placeholder = t(key);
  });
  document.getElementById("lang").textContent = LANG === "en" ? "中文" : "English";
}
