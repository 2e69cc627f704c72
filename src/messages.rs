//! The broker protocol's messages: parsing what the broker sends, serialising what we send.
//!
//! Field names and `type` strings are n8n's, byte for byte. Task items and results can be as
//! large as `N8N_RUNNERS_MAX_PAYLOAD` (1 GiB by default), so they are never parsed into a tree
//! here: they stay raw JSON ([`RawValue`]) from the broker frame to the child and from the
//! child's result to the `runner:taskdone` frame.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// The two `nodeMode`s of a Code node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeMode {
    AllItems,
    PerItem,
}

impl NodeMode {
    pub fn wire_name(self) -> &'static str {
        match self {
            NodeMode::AllItems => "runOnceForAllItems",
            NodeMode::PerItem => "runOnceForEachItem",
        }
    }
}

/// The `settings` of a `broker:tasksettings` message, validated.
#[derive(Debug)]
pub struct TaskSettings {
    pub code: String,
    pub node_mode: NodeMode,
    /// The `items` array exactly as the broker sent it (may be `null`).
    pub items: Box<RawValue>,
    pub continue_on_fail: bool,
    /// `query` (AI tool input), raw; `None` when absent.
    pub query: Option<Box<RawValue>>,
    pub workflow_name: String,
    pub workflow_id: String,
    pub node_name: String,
    pub node_id: String,
}

/// A message from the broker.
#[derive(Debug)]
pub enum BrokerMessage {
    InfoRequest,
    RunnerRegistered,
    TaskOfferAccept {
        task_id: String,
        offer_id: String,
    },
    /// Settings for a task. `settings` is an error text when they are malformed, so the
    /// task can still be answered (and its slot freed) instead of being left to hang.
    TaskSettings {
        task_id: String,
        settings: Result<TaskSettings, String>,
    },
    TaskCancel {
        task_id: String,
        reason: String,
    },
    RpcResponse,
    Drain,
}

/// Every field any broker message may carry, parsed in one pass; `settings` stays raw.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: String,
    task_id: Option<String>,
    offer_id: Option<String>,
    reason: Option<String>,
    call_id: Option<serde::de::IgnoredAny>,
    status: Option<serde::de::IgnoredAny>,
    #[serde(borrow)]
    settings: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsWire {
    code: Option<String>,
    node_mode: Option<String>,
    #[serde(default, deserialize_with = "present_raw")]
    items: Option<Box<RawValue>>,
    continue_on_fail: Option<bool>,
    #[serde(default, deserialize_with = "present_raw")]
    query: Option<Box<RawValue>>,
    workflow_name: Option<String>,
    workflow_id: Option<String>,
    node_name: Option<String>,
    node_id: Option<String>,
}

/// Distinguishes a present `null` (`Some("null")`) from an absent field (`None`).
fn present_raw<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

fn missing(what: &str, key: &str) -> String {
    format!("Missing field in {what} message: '{key}'")
}

impl BrokerMessage {
    /// Parses one text frame. The error is the detail n8n's runner logs after
    /// `Error handling message: `.
    pub fn parse(text: &str) -> Result<BrokerMessage, String> {
        let envelope: Envelope =
            serde_json::from_str(text).map_err(|err| format!("Invalid message: {err}"))?;
        let Envelope {
            kind,
            task_id,
            offer_id,
            reason,
            call_id,
            status,
            settings,
        } = envelope;
        let require =
            |value: Option<String>, what: &str, key: &str| value.ok_or_else(|| missing(what, key));
        Ok(match kind.as_str() {
            "broker:inforequest" => BrokerMessage::InfoRequest,
            "broker:runnerregistered" => BrokerMessage::RunnerRegistered,
            "broker:drain" => BrokerMessage::Drain,
            "broker:taskofferaccept" => BrokerMessage::TaskOfferAccept {
                task_id: require(task_id, "task offer acceptance", "taskId")?,
                offer_id: require(offer_id, "task offer acceptance", "offerId")?,
            },
            "broker:tasksettings" => {
                let task_id = require(task_id, "task settings", "taskId")?;
                let settings = match settings {
                    None => Err(missing("task settings", "settings")),
                    Some(raw) => parse_settings(raw),
                };
                BrokerMessage::TaskSettings { task_id, settings }
            }
            "broker:taskcancel" => BrokerMessage::TaskCancel {
                task_id: require(task_id, "task cancel", "taskId")?,
                reason: require(reason, "task cancel", "reason")?,
            },
            "broker:rpcresponse" => {
                require(task_id, "RPC response", "taskId")?;
                if call_id.is_none() {
                    return Err(missing("RPC response", "callId"));
                }
                if status.is_none() {
                    return Err(missing("RPC response", "status"));
                }
                BrokerMessage::RpcResponse
            }
            other => return Err(format!("Unknown message type: {other}")),
        })
    }
}

fn parse_settings(raw: &RawValue) -> Result<TaskSettings, String> {
    let wire: SettingsWire =
        serde_json::from_str(raw.get()).map_err(|err| format!("Invalid task settings: {err}"))?;
    let code = wire.code.ok_or_else(|| missing("task settings", "code"))?;
    let node_mode = match wire.node_mode.as_deref() {
        None => return Err(missing("task settings", "nodeMode")),
        Some("runOnceForAllItems") => NodeMode::AllItems,
        Some("runOnceForEachItem") => NodeMode::PerItem,
        Some(other) => return Err(format!("Unknown nodeMode: {other}")),
    };
    let items = wire
        .items
        .ok_or_else(|| missing("task settings", "items"))?;
    let unknown = || "Unknown".to_owned();
    Ok(TaskSettings {
        code,
        node_mode,
        items,
        continue_on_fail: wire.continue_on_fail.unwrap_or(false),
        query: wire.query,
        workflow_name: wire.workflow_name.unwrap_or_else(unknown),
        workflow_id: wire.workflow_id.unwrap_or_else(unknown),
        node_name: wire.node_name.unwrap_or_else(unknown),
        node_id: wire.node_id.unwrap_or_else(unknown),
    })
}

/// When a frame does not parse as a whole, the task it was about (if any can be found), so a
/// malformed `broker:tasksettings` can still be answered.
pub fn task_id_of_malformed(text: &str) -> Option<(String, String)> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Minimal {
        #[serde(rename = "type")]
        kind: String,
        task_id: String,
    }
    // Only the two fields: a wrongly typed field elsewhere does not stop this parse.
    let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    let minimal: Minimal = serde_json::from_value(serde_json::Value::Object(value)).ok()?;
    Some((minimal.kind, minimal.task_id))
}

/// The `error` object of a `runner:taskerror`. `description` and `stack` are left out where n8n's
/// runner leaves them out (cancellation, syntax errors). `description` is usually text, but an
/// exception's own `description` attribute is passed through as whatever JSON value it is, as
/// n8n's runner does.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TaskErrorBody {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// A message to the broker.
#[derive(Serialize)]
#[serde(tag = "type")]
pub enum RunnerMessage<'a> {
    #[serde(rename = "runner:info")]
    Info { name: &'a str, types: [&'a str; 1] },
    #[serde(rename = "runner:taskoffer", rename_all = "camelCase")]
    TaskOffer {
        offer_id: &'a str,
        task_type: &'a str,
        valid_for: u32,
    },
    #[serde(rename = "runner:taskaccepted", rename_all = "camelCase")]
    TaskAccepted { task_id: &'a str },
    #[serde(rename = "runner:taskrejected", rename_all = "camelCase")]
    TaskRejected { task_id: &'a str, reason: &'a str },
    #[serde(rename = "runner:taskdone", rename_all = "camelCase")]
    TaskDone {
        task_id: &'a str,
        data: TaskDoneData<'a>,
    },
    #[serde(rename = "runner:taskerror", rename_all = "camelCase")]
    TaskError {
        task_id: &'a str,
        error: &'a TaskErrorBody,
    },
    #[serde(rename = "runner:rpc", rename_all = "camelCase")]
    Rpc {
        call_id: &'a str,
        task_id: &'a str,
        name: &'a str,
        params: &'a [String],
    },
}

/// `data` of `runner:taskdone`: always exactly `{"result": …}`.
#[derive(Serialize)]
pub struct TaskDoneData<'a> {
    pub result: &'a RawValue,
}

pub const RUNNER_NAME: &str = "Python Task Runner";
pub const TASK_TYPE: &str = "python";
pub const REJECT_OFFER_EXPIRED: &str = "Offer expired - not accepted within validity window";
pub const REJECT_AT_CAPACITY: &str = "No open task slots - runner already at capacity";

impl RunnerMessage<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("runner messages always serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_items_raw() {
        let text = r#"{"type":"broker:tasksettings","taskId":"t1","settings":{
            "code":"return 1","nodeMode":"runOnceForEachItem","items":[{"json":{"a":1.50}}],
            "continueOnFail":true,"workflowName":"W"}}"#;
        let BrokerMessage::TaskSettings { task_id, settings } = BrokerMessage::parse(text).unwrap()
        else {
            panic!("wrong variant")
        };
        let settings = settings.unwrap();
        assert_eq!(task_id, "t1");
        assert_eq!(settings.items.get(), r#"[{"json":{"a":1.50}}]"#);
        assert_eq!(settings.node_mode, NodeMode::PerItem);
        assert!(settings.continue_on_fail);
        assert_eq!(settings.workflow_name, "W");
        assert_eq!(settings.node_name, "Unknown");
        assert!(settings.query.is_none());
    }

    #[test]
    fn null_items_are_passed_through_but_missing_items_are_an_error() {
        let null = r#"{"type":"broker:tasksettings","taskId":"t","settings":{"code":"","nodeMode":"runOnceForAllItems","items":null}}"#;
        let BrokerMessage::TaskSettings { settings, .. } = BrokerMessage::parse(null).unwrap()
        else {
            panic!()
        };
        assert_eq!(settings.unwrap().items.get(), "null");
        let absent = r#"{"type":"broker:tasksettings","taskId":"t","settings":{"code":"","nodeMode":"runOnceForAllItems"}}"#;
        let BrokerMessage::TaskSettings { settings, .. } = BrokerMessage::parse(absent).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            settings.unwrap_err(),
            "Missing field in task settings message: 'items'"
        );
    }

    #[test]
    fn unknown_node_mode_is_reported() {
        let text = r#"{"type":"broker:tasksettings","taskId":"t","settings":{"code":"","nodeMode":"x","items":[]}}"#;
        let BrokerMessage::TaskSettings { settings, .. } = BrokerMessage::parse(text).unwrap()
        else {
            panic!()
        };
        assert_eq!(settings.unwrap_err(), "Unknown nodeMode: x");
    }

    #[test]
    fn parse_errors_use_n8n_details() {
        assert_eq!(
            BrokerMessage::parse(r#"{"type":"broker:nodetypes"}"#).unwrap_err(),
            "Unknown message type: broker:nodetypes"
        );
        assert_eq!(
            BrokerMessage::parse(r#"{"type":"broker:taskcancel","taskId":"t"}"#).unwrap_err(),
            "Missing field in task cancel message: 'reason'"
        );
        assert_eq!(
            BrokerMessage::parse(r#"{"type":"broker:taskofferaccept","taskId":"t"}"#).unwrap_err(),
            "Missing field in task offer acceptance message: 'offerId'"
        );
        assert!(BrokerMessage::parse("not json").is_err());
    }

    #[test]
    fn task_id_is_found_in_a_malformed_settings_frame() {
        let text = r#"{"type":"broker:tasksettings","taskId":"t9","settings":{"code":5}}"#;
        assert!(matches!(
            BrokerMessage::parse(text).unwrap(),
            BrokerMessage::TaskSettings {
                settings: Err(_),
                ..
            }
        ));
        let broken = r#"{"type":"broker:tasksettings","taskId":"t9","reason":5,"settings":{}}"#;
        assert!(BrokerMessage::parse(broken).is_err());
        assert_eq!(
            task_id_of_malformed(broken),
            Some(("broker:tasksettings".to_owned(), "t9".to_owned()))
        );
    }

    #[test]
    fn runner_messages_use_n8n_field_names() {
        let raw = RawValue::from_string("[{\"a\":1}]".to_owned()).unwrap();
        let done = RunnerMessage::TaskDone {
            task_id: "t",
            data: TaskDoneData { result: &raw },
        };
        assert_eq!(
            done.to_json(),
            r#"{"type":"runner:taskdone","taskId":"t","data":{"result":[{"a":1}]}}"#
        );
        let offer = RunnerMessage::TaskOffer {
            offer_id: "o",
            task_type: TASK_TYPE,
            valid_for: 5000,
        };
        assert_eq!(
            offer.to_json(),
            r#"{"type":"runner:taskoffer","offerId":"o","taskType":"python","validFor":5000}"#
        );
        let error = TaskErrorBody {
            message: "Task was cancelled".into(),
            description: None,
            stack: None,
        };
        assert_eq!(
            RunnerMessage::TaskError {
                task_id: "t",
                error: &error
            }
            .to_json(),
            r#"{"type":"runner:taskerror","taskId":"t","error":{"message":"Task was cancelled"}}"#
        );
    }
}
