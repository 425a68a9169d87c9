//! The CKB signature of one lead, as the delivery worker computes it for every attempt.

use criterion::{criterion_group, criterion_main, Criterion};
use partner_gateway::ckb::{client::LeadFields, sign};
use serde_json::json;

fn sign_lead(c: &mut Criterion) {
    let lead = LeadFields {
        phone: Some("13800000000".into()),
        wechat_id: Some("wxid_abcdefg123".into()),
        name: "张三".into(),
        source: "找伙伴·创业合伙".into(),
        remark: "匹配到 李四".into(),
        tags: vec!["AI".into(), "出海".into()],
        site_tags: vec!["新客".into()],
        portrait: Some(json!({ "type": 1, "source": 0, "sourceData": { "page": "/partner" } })),
    };
    let params = lead.params("abcde-12345-fghij-67890-klmno", 1_710_000_000);
    c.bench_function("sign a lead", |b| {
        b.iter(|| {
            sign::sign(
                std::hint::black_box(&params),
                "abcde-12345-fghij-67890-klmno",
            )
            .unwrap()
        })
    });
}

criterion_group!(benches, sign_lead);
criterion_main!(benches);
