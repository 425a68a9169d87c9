//! The simulator's in-memory copy of CKB's tables, the clock that moves
//! lead statuses, and the request counters.
//!
//! The tables mirror the ones the lead endpoint writes: `traffic_pool`
//! (one row per identifier, shared by all plans), `task_customer` (one row
//! per lead and plan) and `user_portrait`.

use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use serde::{Deserialize, Serialize};

use super::{CkbVersion, SimPlan};
use crate::ckb::sign::md5_hex;

/// `task_customer.status`: waiting for a device's WeChat account.
pub const STATUS_NEW: u8 = 0;
/// `task_customer.status`: friend request task created.
pub const STATUS_REQUESTED: u8 = 1;
/// `task_customer.status`: friend request sent, waiting for acceptance.
pub const STATUS_SENT: u8 = 2;
/// `task_customer.status`: friend request failed.
pub const STATUS_FAILED: u8 = 3;
/// `task_customer.status`: accepted, and the plan's greetings were sent.
pub const STATUS_PASSED_WITH_MESSAGES: u8 = 4;
/// `task_customer.status`: accepted by a plan without messages. Only the
/// current CKB code has this status.
pub const STATUS_PASSED_WITHOUT_MESSAGES: u8 = 5;

/// The text CKB stores as `fail_reason` when the upstream gives none.
const UNKNOWN_FAIL_REASON: &str = "未知原因";

/// The window in seconds within which a repeated portrait raises the count
/// of the stored one instead of adding a row.
const PORTRAIT_MERGE_WINDOW_SECS: i64 = 1800;

/// Settings of the clock that moves lead statuses.
///
/// On each step a lead moves 0 → 1, then 1 → 3 (failed) for `fail_share`
/// of leads or 1 → 2 for the rest, then 2 → 4/5 (passed) for `pass_share`
/// of leads. The remaining leads stay at 2, as if the request was never
/// accepted. Which lead falls into which share is fixed by the simulator's
/// seed, the plan id and the identifier.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockConfig {
    /// Time between automatic steps, or `None` to move statuses only when
    /// `SimulatorHandle::advance` is called.
    pub tick: Option<Duration>,
    /// Share of leads whose friend request is accepted (0 to 1).
    pub pass_share: f64,
    /// Share of leads whose friend request fails (0 to 1).
    pub fail_share: f64,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            tick: None,
            pass_share: 0.7,
            fail_share: 0.1,
        }
    }
}

/// One `task_customer` row: a lead in one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimLead {
    pub id: i64,
    pub plan_id: i64,
    /// `wechatId` if it was non-empty, otherwise `phone` (the column is
    /// named `phone` in CKB).
    pub identifier: String,
    pub name: String,
    pub source: String,
    pub remark: String,
    /// `tags` split on ',' with no trimming.
    pub tags: Vec<String>,
    /// `siteTags` split on ',', merged on repeated reports.
    pub site_tags: Vec<String>,
    /// 0 new, 1 requested, 2 sent, 3 failed, 4 passed with messages,
    /// 5 passed without messages.
    pub status: u8,
    pub fail_reason: String,
    /// Unix seconds when the friend request was created, or 0.
    pub add_time: i64,
    /// Unix seconds when the friend request was accepted, or 0.
    pub pass_time: i64,
    /// Unix seconds when the lead was stored.
    pub create_time: i64,
    /// Unix seconds of the last change after insertion, or 0.
    pub update_time: i64,
}

/// One `user_portrait` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimPortrait {
    pub id: i64,
    pub company_id: i64,
    pub traffic_pool_id: i64,
    /// The lead identifier behind `traffic_pool_id`.
    pub identifier: String,
    /// 0 browse, 1 click, 2 order, 3 register, 4 interact.
    pub r#type: i64,
    /// 0 this site, 1 and 2 partner sites.
    pub source: i64,
    pub unique_id: String,
    /// `sourceData` with its top-level keys sorted, JSON-encoded by PHP.
    pub source_data: String,
    pub remark: String,
    /// How many reports were merged into this row.
    pub count: i64,
    pub create_time: i64,
    pub update_time: i64,
}

/// Request counters, also served as JSON at `/__sim/counts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimCounts {
    /// Lead requests that reached the lead handler, including those that
    /// got an injected error, hang or drop.
    pub lead_requests: u64,
    /// Outcomes of processed lead requests. A request processed before an
    /// injected fault (`Faults::process_before_fault`) counts here although
    /// its response was lost.
    pub outcomes: OutcomeCounts,
    /// Requests that got an injected fault instead of a response.
    pub faults: FaultCounts,
    /// Stored leads per plan id, including plans without leads.
    pub leads_per_plan: BTreeMap<i64, u64>,
    /// Per lead identifier, summed over plans: the requests that carried it
    /// and their outcomes.
    pub identifiers: BTreeMap<String, IdentifierCounts>,
    /// Requests per management path, such as `/v1/plan/list`, whatever their
    /// answer.
    #[serde(default)]
    pub management_requests: BTreeMap<String, u64>,
    /// Per CKB path, the `x-request-id` of the last request that carried one.
    #[serde(default)]
    pub last_request_ids: BTreeMap<String, String>,
    /// Per CKB path, requests that carried no `x-request-id`.
    #[serde(default)]
    pub requests_without_id: BTreeMap<String, u64>,
}

/// Lead request outcomes by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeCounts {
    /// Code 200 新增成功.
    pub created: u64,
    /// Code 200 已存在.
    pub existing: u64,
    /// Code 400: a missing field or an expired timestamp.
    pub bad_request: u64,
    /// Code 401: unknown apiKey or wrong signature.
    pub unauthorized: u64,
    /// Code 500 系统错误 in a JSON body.
    pub server_error: u64,
}

/// Injected faults by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultCounts {
    /// Lead requests that got the HTTP 500 HTML page.
    pub error_pages: u64,
    /// Lead requests held without a response.
    pub hung: u64,
    /// Lead requests whose connection was closed.
    pub dropped: u64,
    /// Requests to any CKB path closed while the simulator was down.
    pub refused_while_down: u64,
}

/// Counts for one lead identifier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentifierCounts {
    /// Lead requests that carried this identifier, whatever their outcome.
    pub requests: u64,
    /// Outcomes 新增成功.
    pub created: u64,
    /// Outcomes 已存在.
    pub existing: u64,
}

/// The outcome of a lead request, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutcomeKind {
    Created,
    Existing,
    Rejected(i64),
}

/// An injected fault, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    ErrorPage,
    Hung,
    Dropped,
    RefusedWhileDown,
}

/// A plan as stored, with the columns CKB adds.
#[derive(Debug, Clone)]
pub(crate) struct PlanRow {
    pub plan: SimPlan,
    pub create_time: i64,
}

/// Per-plan counts that `plan/list` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlanStats {
    pub acquired: u64,
    pub added: u64,
    pub passed: u64,
    pub last_updated: i64,
}

/// The fields of a new lead, already defaulted as CKB does.
pub(crate) struct NewLead {
    pub plan_id: i64,
    pub identifier: String,
    pub name: String,
    pub source: String,
    pub remark: String,
    pub tags: Vec<String>,
    pub site_tags: Vec<String>,
}

/// The portrait fields of one lead report, already defaulted as CKB does.
pub(crate) struct PortraitInput {
    pub r#type: i64,
    pub source: i64,
    pub unique_id: String,
    pub source_data: String,
    pub remark: String,
}

/// CKB's tables and the simulator's counters.
pub(crate) struct Store {
    version: CkbVersion,
    seed: u64,
    pass_share: f64,
    fail_share: f64,
    pub plans: Vec<PlanRow>,
    /// `traffic_pool`: identifier to row id.
    traffic_pool: HashMap<String, i64>,
    pub leads: Vec<SimLead>,
    pub portraits: Vec<SimPortrait>,
    counts: SimCounts,
}

impl Store {
    /// Creates the tables. Plans get creation times one minute apart, the
    /// first plan newest, so `plan/list` (newest first) keeps their order.
    pub fn new(
        plans: Vec<SimPlan>,
        clock: &ClockConfig,
        seed: u64,
        now: i64,
        version: CkbVersion,
    ) -> Self {
        let plans = plans
            .into_iter()
            .enumerate()
            .map(|(index, plan)| PlanRow {
                plan,
                create_time: now - 60 * index as i64,
            })
            .collect();
        Store {
            version,
            seed,
            pass_share: clock.pass_share,
            fail_share: clock.fail_share,
            plans,
            traffic_pool: HashMap::new(),
            leads: Vec::new(),
            portraits: Vec::new(),
            counts: SimCounts::default(),
        }
    }

    pub fn set_shares(&mut self, pass_share: f64, fail_share: f64) {
        self.pass_share = pass_share;
        self.fail_share = fail_share;
    }

    /// Finds the enabled plan with this apiKey, the lowest id first when
    /// several share it.
    ///
    /// NOTE: CKB's tables use the collation utf8mb4_general_ci, so MySQL
    /// matches apiKeys and identifiers case-insensitively and ignores
    /// trailing spaces. The simulator compares them exactly.
    pub fn find_enabled_plan(&self, api_key: &str) -> Option<&SimPlan> {
        self.plans
            .iter()
            .map(|row| &row.plan)
            .filter(|plan| plan.enabled && plan.api_key == api_key)
            .min_by_key(|plan| plan.id)
    }

    pub fn plan_mut(&mut self, plan_id: i64) -> Option<&mut SimPlan> {
        self.plans
            .iter_mut()
            .map(|row| &mut row.plan)
            .find(|plan| plan.id == plan_id)
    }

    pub fn traffic_pool_id(&self, identifier: &str) -> Option<i64> {
        self.traffic_pool.get(identifier).copied()
    }

    /// Inserts a `traffic_pool` row and returns its id. The simulator keeps
    /// only the identifier, because nothing reads `mobile` back.
    pub fn insert_traffic_pool(&mut self, identifier: &str) -> i64 {
        let id = self.traffic_pool.len() as i64 + 1;
        self.traffic_pool.insert(identifier.to_owned(), id);
        id
    }

    pub fn lead_index(&self, plan_id: i64, identifier: &str) -> Option<usize> {
        self.leads
            .iter()
            .position(|lead| lead.plan_id == plan_id && lead.identifier == identifier)
    }

    /// Inserts a `task_customer` row with status 0.
    pub fn insert_lead(&mut self, lead: NewLead, now: i64) {
        let id = self.leads.len() as i64 + 1;
        self.leads.push(SimLead {
            id,
            plan_id: lead.plan_id,
            identifier: lead.identifier,
            name: lead.name,
            source: lead.source,
            remark: lead.remark,
            tags: lead.tags,
            site_tags: lead.site_tags,
            status: STATUS_NEW,
            fail_reason: String::new(),
            add_time: 0,
            pass_time: 0,
            create_time: now,
            update_time: 0,
        });
    }

    /// Merges repeated `siteTags` into a stored lead like CKB's
    /// `updateSiteTags`: old tags first, then new ones, duplicates removed,
    /// and tags dropped whose trimmed text is `""` or `"0"` (PHP `empty`).
    /// The kept tags are not trimmed. Nothing changes when `new_tags` is empty.
    pub fn merge_site_tags(&mut self, index: usize, new_tags: Vec<String>, now: i64) {
        if new_tags.is_empty() {
            return;
        }
        let lead = &mut self.leads[index];
        let mut merged: Vec<String> = Vec::new();
        for tag in lead.site_tags.drain(..).chain(new_tags) {
            if !merged.contains(&tag) {
                merged.push(tag);
            }
        }
        merged.retain(|tag| {
            let trimmed = super::params::php_trim(tag);
            !trimmed.is_empty() && trimmed != "0"
        });
        lead.site_tags = merged;
        lead.update_time = now;
    }

    /// Stores a portrait like CKB's `updatePortrait`: a row with the same
    /// traffic pool id, type, source and uniqueId created within the last
    /// 30 minutes gets its count raised, otherwise a new row is added.
    pub fn record_portrait(
        &mut self,
        traffic_pool_id: i64,
        identifier: &str,
        company_id: i64,
        input: PortraitInput,
        now: i64,
    ) {
        let recent = self.portraits.iter_mut().find(|row| {
            row.traffic_pool_id == traffic_pool_id
                && row.r#type == input.r#type
                && row.source == input.source
                && row.unique_id == input.unique_id
                && row.create_time > now - PORTRAIT_MERGE_WINDOW_SECS
        });
        if let Some(row) = recent {
            row.count += 1;
            row.update_time = now;
            return;
        }

        let id = self.portraits.len() as i64 + 1;
        self.portraits.push(SimPortrait {
            id,
            company_id,
            traffic_pool_id,
            identifier: identifier.to_owned(),
            r#type: input.r#type,
            source: input.source,
            unique_id: input.unique_id,
            source_data: input.source_data,
            remark: input.remark,
            count: 1,
            create_time: now,
            update_time: now,
        });
    }

    /// Moves every lead one step along the status clock.
    pub fn advance(&mut self, now: i64) {
        let has_messages: HashMap<i64, bool> = self
            .plans
            .iter()
            .map(|row| (row.plan.id, row.plan.has_messages))
            .collect();

        for index in 0..self.leads.len() {
            let lead = &self.leads[index];
            let roll = lead_roll(self.seed, lead.plan_id, &lead.identifier);
            let fails = roll < self.fail_share;
            let passes = !fails && roll < self.fail_share + self.pass_share;
            let plan_has_messages = has_messages.get(&lead.plan_id).copied().unwrap_or(false);

            let lead = &mut self.leads[index];
            match lead.status {
                STATUS_NEW => {
                    lead.status = STATUS_REQUESTED;
                    lead.add_time = now;
                    lead.update_time = now;
                }
                STATUS_REQUESTED if fails => {
                    lead.status = STATUS_FAILED;
                    lead.fail_reason = UNKNOWN_FAIL_REASON.to_owned();
                    lead.update_time = now;
                }
                STATUS_REQUESTED => {
                    lead.status = STATUS_SENT;
                    lead.update_time = now;
                }
                STATUS_SENT if passes => {
                    let passed_status = match (plan_has_messages, self.version) {
                        (true, _) => Some(STATUS_PASSED_WITH_MESSAGES),
                        (false, CkbVersion::Current) => Some(STATUS_PASSED_WITHOUT_MESSAGES),
                        // The 2025 code has no status 5: an accepted lead of
                        // a plan without messages stays at 2.
                        (false, CkbVersion::Legacy) => None,
                    };
                    if let Some(status) = passed_status {
                        lead.status = status;
                        lead.pass_time = now;
                        lead.update_time = now;
                    }
                }
                _ => {}
            }
        }
    }

    /// Counts a plan's leads with the status sets of `plan/list`.
    pub fn plan_stats(&self, plan_id: i64) -> PlanStats {
        let (added_statuses, passed_statuses): (&[u8], &[u8]) = match self.version {
            CkbVersion::Current => (&[1, 2, 3, 4, 5], &[4, 5]),
            CkbVersion::Legacy => (&[1, 2, 3, 4], &[4]),
        };
        let leads = self.leads.iter().filter(|lead| lead.plan_id == plan_id);

        let mut stats = PlanStats {
            acquired: 0,
            added: 0,
            passed: 0,
            last_updated: 0,
        };
        for lead in leads {
            stats.acquired += 1;
            stats.added += u64::from(added_statuses.contains(&lead.status));
            stats.passed += u64::from(passed_statuses.contains(&lead.status));
            stats.last_updated = stats.last_updated.max(lead.update_time);
        }
        stats
    }

    pub fn record_request(&mut self, identifier: Option<&str>) {
        self.counts.lead_requests += 1;
        if let Some(identifier) = identifier {
            self.counts
                .identifiers
                .entry(identifier.to_owned())
                .or_default()
                .requests += 1;
        }
    }

    pub fn record_outcome(&mut self, kind: OutcomeKind, identifier: Option<&str>) {
        let outcomes = &mut self.counts.outcomes;
        match kind {
            OutcomeKind::Created => outcomes.created += 1,
            OutcomeKind::Existing => outcomes.existing += 1,
            OutcomeKind::Rejected(400) => outcomes.bad_request += 1,
            OutcomeKind::Rejected(401) => outcomes.unauthorized += 1,
            OutcomeKind::Rejected(_) => outcomes.server_error += 1,
        }

        let Some(identifier) = identifier else {
            return;
        };
        let entry = self
            .counts
            .identifiers
            .entry(identifier.to_owned())
            .or_default();
        match kind {
            OutcomeKind::Created => entry.created += 1,
            OutcomeKind::Existing => entry.existing += 1,
            OutcomeKind::Rejected(_) => {}
        }
    }

    pub fn record_fault(&mut self, kind: FaultKind) {
        let faults = &mut self.counts.faults;
        match kind {
            FaultKind::ErrorPage => faults.error_pages += 1,
            FaultKind::Hung => faults.hung += 1,
            FaultKind::Dropped => faults.dropped += 1,
            FaultKind::RefusedWhileDown => faults.refused_while_down += 1,
        }
    }

    /// Counts one request to a management path.
    pub fn count_management_request(&mut self, path: &str) {
        *self
            .counts
            .management_requests
            .entry(path.to_owned())
            .or_default() += 1;
    }

    /// Notes the `x-request-id` of a request to a CKB path, or its absence.
    pub fn note_request_id(&mut self, path: &str, request_id: Option<&str>) {
        match request_id {
            Some(id) => {
                self.counts
                    .last_request_ids
                    .insert(path.to_owned(), id.to_owned());
            }
            None => {
                *self
                    .counts
                    .requests_without_id
                    .entry(path.to_owned())
                    .or_default() += 1;
            }
        }
    }

    pub fn counts(&self) -> SimCounts {
        let mut counts = self.counts.clone();
        for row in &self.plans {
            counts.leads_per_plan.insert(row.plan.id, 0);
        }
        for lead in &self.leads {
            *counts.leads_per_plan.entry(lead.plan_id).or_default() += 1;
        }
        counts
    }
}

/// Derives a repeatable number in [0, 1) that decides a lead's outcome.
fn lead_roll(seed: u64, plan_id: i64, identifier: &str) -> f64 {
    let digest = md5_hex(format!("{seed}:{plan_id}:{identifier}").as_bytes());
    let value = u64::from_str_radix(&digest[..16], 16).expect("md5_hex returns hex digits");
    (value >> 11) as f64 / (1u64 << 53) as f64
}

/// Tests whether `text` matches MySQL's `LIKE '%pattern%'` under a
/// case-insensitive collation: `%` matches any run of characters, `_` one
/// character, and `\` escapes the next character.
pub(crate) fn like_contains(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.to_lowercase().chars().collect();
    let pattern: Vec<char> = format!("%{}%", pattern.to_lowercase()).chars().collect();
    like_matches(&text, &pattern)
}

fn like_matches(text: &[char], pattern: &[char]) -> bool {
    // Tokenize the pattern so that an escaped character is one literal.
    enum Token {
        Any,
        One,
        Literal(char),
    }
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < pattern.len() {
        match pattern[index] {
            '\\' if index + 1 < pattern.len() => {
                tokens.push(Token::Literal(pattern[index + 1]));
                index += 2;
                continue;
            }
            '%' => tokens.push(Token::Any),
            '_' => tokens.push(Token::One),
            other => tokens.push(Token::Literal(other)),
        }
        index += 1;
    }

    // table[i][j]: the first i characters match the first j tokens.
    let mut table = vec![vec![false; tokens.len() + 1]; text.len() + 1];
    table[0][0] = true;
    for token_index in 1..=tokens.len() {
        if let Token::Any = tokens[token_index - 1] {
            table[0][token_index] = table[0][token_index - 1];
        }
    }
    for text_index in 1..=text.len() {
        for token_index in 1..=tokens.len() {
            table[text_index][token_index] = match tokens[token_index - 1] {
                Token::Any => {
                    table[text_index - 1][token_index] || table[text_index][token_index - 1]
                }
                Token::One => table[text_index - 1][token_index - 1],
                Token::Literal(character) => {
                    table[text_index - 1][token_index - 1] && text[text_index - 1] == character
                }
            };
        }
    }
    table[text.len()][tokens.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_matches_mysql_wildcards() {
        assert!(like_contains("官网表单", "表"));
        assert!(like_contains("Website Form", "site f"));
        assert!(like_contains("a1c", "a_c"));
        assert!(!like_contains("ac", "a_c"));
        assert!(like_contains("100%", "0\\%"));
        assert!(!like_contains("1000", "0\\%"));
        assert!(like_contains("anything", ""));
    }

    #[test]
    fn lead_roll_is_repeatable() {
        assert_eq!(lead_roll(7, 1, "138"), lead_roll(7, 1, "138"));
        assert_ne!(lead_roll(7, 1, "138"), lead_roll(8, 1, "138"));
        let roll = lead_roll(7, 1, "138");
        assert!((0.0..1.0).contains(&roll));
    }
}
