//! A harness that starts a simulator on 127.0.0.1 and talks to it over HTTP.

use std::time::Duration;

use partner_gateway::ckb::{
    sign::{php_string, sign},
    simulator::{self, SimPlan, SimulatorConfig, SimulatorHandle},
};
use serde_json::{json, Map, Value};

/// The unix time every test simulator starts at (2025-06-15 23:06:40 in
/// Shanghai), so that timestamps and token lifetimes are exact.
pub const NOW: i64 = 1_750_000_000;

/// The apiKey of plan 1 in [`default_config`].
pub const KEY: &str = "abcde-12345-fghij-67890-klmno";

pub fn plan(id: i64, name: &str, api_key: &str) -> SimPlan {
    SimPlan {
        id,
        name: name.to_owned(),
        api_key: api_key.to_owned(),
        enabled: true,
        has_messages: true,
        scene_id: 1,
    }
}

/// Returns a config with one plan with messages ([`KEY`]), one without
/// (`nomsg-key`) and one disabled (`off-key`).
pub fn default_config() -> SimulatorConfig {
    SimulatorConfig {
        plans: vec![
            plan(1, "官网表单", KEY),
            SimPlan {
                has_messages: false,
                ..plan(2, "无消息计划", "nomsg-key")
            },
            SimPlan {
                enabled: false,
                ..plan(3, "停用计划", "off-key")
            },
        ],
        ..SimulatorConfig::default()
    }
}

/// A response read in full.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.text))
    }
}

/// Adds `apiKey` and a valid `sign` to lead parameters.
pub fn signed(mut params: Map<String, Value>, api_key: &str) -> Map<String, Value> {
    params.insert("apiKey".to_owned(), Value::String(api_key.to_owned()));
    params.remove("sign");
    let signature = sign(&params, api_key).expect("test parameters are scalars");
    params.insert("sign".to_owned(), Value::String(signature.sign));
    params
}

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected a JSON object, got {other}"),
    }
}

/// Converts parameters to form pairs with PHP's string conversion.
pub fn form_pairs(params: &Map<String, Value>) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(key, value)| {
            let text = php_string(value).expect("form parameters are scalars");
            (key.clone(), text)
        })
        .collect()
}

pub struct TestSim {
    pub sim: SimulatorHandle,
    pub client: reqwest::Client,
}

/// Starts a simulator on a free loopback port with its clock fixed at [`NOW`].
pub async fn start(config: SimulatorConfig) -> TestSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding a loopback port");
    let sim = simulator::spawn(config, listener)
        .await
        .expect("starting the simulator");
    sim.set_unix_time(Some(NOW));
    TestSim {
        sim,
        client: client(Duration::from_secs(10)),
    }
}

/// Builds a client that never uses a proxy, so requests stay on loopback.
pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("building a reqwest client")
}

impl TestSim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    /// Builds lead parameters with `timestamp` (the simulator's now, unless
    /// given), signed with `api_key`.
    pub fn lead_with_key(&self, fields: Value, api_key: &str) -> Map<String, Value> {
        let mut params = object(fields);
        params
            .entry("timestamp")
            .or_insert_with(|| Value::from(self.sim.unix_time()));
        signed(params, api_key)
    }

    pub fn lead(&self, fields: Value) -> Map<String, Value> {
        self.lead_with_key(fields, KEY)
    }

    pub async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_owned());
        let text = response.text().await.expect("reading the body");
        Answer {
            status,
            content_type,
            headers,
            text,
        }
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        Self::read(request.send().await.expect("sending the request")).await
    }

    pub async fn post_json(&self, body: &Map<String, Value>) -> Answer {
        self.send(self.client.post(self.url("/v1/api/scenarios")).json(body))
            .await
    }

    pub async fn post_form(&self, body: &Map<String, Value>) -> Answer {
        self.send(
            self.client
                .post(self.url("/v1/api/scenarios"))
                .form(&form_pairs(body)),
        )
        .await
    }

    /// Signs and posts a lead as JSON.
    pub async fn submit(&self, fields: Value) -> Answer {
        self.post_json(&self.lead(fields)).await
    }

    pub async fn login(&self) -> String {
        let answer = self
            .send(self.client.post(self.url("/v1/auth/login")).json(&json!({
                "account": "ckb-demo",
                "password": "ckb-demo-password",
                "typeId": 1
            })))
            .await;
        let body = answer.json();
        body["data"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {}", answer.text))
            .to_owned()
    }

    pub async fn get_with_token(&self, path: &str, token: &str, query: &[(&str, &str)]) -> Answer {
        self.send(
            self.client
                .get(self.url(path))
                .bearer_auth(token)
                .query(query),
        )
        .await
    }
}

/// Formats `{"code":C,"msg":M,"data":[]}` as CKB encodes it.
pub fn error_body(code: i64, msg: &str) -> String {
    format!(r#"{{"code":{code},"msg":"{msg}","data":[]}}"#)
}

/// Formats `{"code":200,"message":M,"data":"<identifier>"}` as CKB encodes it.
pub fn success_body(message: &str, identifier: &str) -> String {
    format!(r#"{{"code":200,"message":"{message}","data":"{identifier}"}}"#)
}
