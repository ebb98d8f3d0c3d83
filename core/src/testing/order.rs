//! The event-order rules of a session as code: [`check_event_order`] and [`count_kinds`].

use std::collections::{HashMap, HashSet};

use crate::{Event, EventData};

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
enum Phase {
    #[default]
    Outside,
    InSend,
    InTurn,
    /// `session.error` seen: only `session.idle` may follow.
    Failed,
}

#[derive(Debug, Default)]
struct Turn {
    id: String,
    reasoning_id: Option<String>,
    reasoning_done: bool,
    message_id: Option<String>,
    message_seen: bool,
    output_seen: bool,
    usage_seen: bool,
    requested: Vec<String>,
    started: HashSet<String>,
    completed: HashSet<String>,
    aborted: bool,
}

/// Checks a session's event sequence against the order rules. `events` must be contiguous (as
/// delivered to an `on_all` handler, or to an `events()` stream that did not lag) and may start at
/// `session.start` or at a `user.message`. `streaming` says whether deltas are allowed.
///
/// Rules: `parentId` chains each event to the one before; `ephemeral` is set exactly on
/// message_start, message_delta, reasoning_delta, usage and idle; a send is `user.message`, then turns,
/// then at most one `session.error`, then `session.idle` last; a turn is `turn_start`, retries before
/// any output, `reasoning_delta*` then `reasoning`, `message_start` then `message_delta*` with its
/// messageId, one `assistant.message` (same messageId), `usage`, then a start and a complete for each
/// requested tool call (start before complete, any interleaving), then `turn_end`; an `abort` ends
/// the turn early (pending calls complete with code "interrupted") and makes idle `aborted: true`; no
/// delta of any kind when not streaming.
pub fn check_event_order(events: &[Event], streaming: bool) -> Result<(), String> {
    let mut phase = Phase::Outside;
    let mut turn = Turn::default();
    let mut turn_ids = HashSet::new();
    let mut send_aborted = false;
    let mut prev: Option<&Event> = None;
    let mut turn_ended_without_answer = false;
    let mut compacting = false;
    let mut skipped_failure = false;
    for (i, e) in events.iter().enumerate() {
        let at = |msg: &str| format!("event {i} ({}): {msg}", e.kind());
        if let Some(p) = prev
            && e.parent_id.as_deref() != Some(p.id.as_str())
        {
            return Err(at("parentId is not the previous event's id"));
        }
        prev = Some(e);
        if e.ephemeral != e.data.is_ephemeral() {
            return Err(at("wrong ephemeral flag"));
        }
        // An onErrorOccurred hook that skips a failed model call ends the turn without answer and
        // the send without session.error.
        if let EventData::HookEnd(h) = &e.data
            && h.hook_type == "errorOccurred"
            && h.output
                .as_ref()
                .is_some_and(|o| o["errorHandling"] == "skip")
        {
            skipped_failure = true;
        }
        // set_model may be called at any moment, hooks run inside and outside sends, and a
        // permission is asked (or an MCP server restarted) while a tool call runs.
        if matches!(
            e.data,
            EventData::ModelChange(_)
                | EventData::McpServerStatusChanged(_)
                | EventData::HookStart(_)
                | EventData::HookEnd(_)
                | EventData::PermissionRequested(_)
                | EventData::PermissionCompleted(_)
        ) {
            continue;
        }
        let is_delta = matches!(
            e.data,
            EventData::MessageStart(_) | EventData::MessageDelta(_) | EventData::ReasoningDelta(_)
        );
        if is_delta && !streaming {
            return Err(at("a delta event in a non-streaming session"));
        }
        if turn_ended_without_answer && !matches!(e.data, EventData::SessionError(_)) {
            return Err(at(
                "a turn ended without answer, abort or a following session.error",
            ));
        }
        turn_ended_without_answer = false;
        // A compaction: start, the summary call's usage, complete. It stands between sends
        // (background), right after a send's user.message or between its turns (the window is
        // nearly full), or inside a turn before any output (the provider said the prompt is too
        // long, and the call is retried after it).
        if compacting {
            match &e.data {
                EventData::Usage(_) => continue,
                EventData::CompactionComplete(_) => {
                    compacting = false;
                    continue;
                }
                _ => return Err(at("inside a compaction (only its usage and its end)")),
            }
        }
        if let EventData::CompactionStart(_) = &e.data {
            let allowed = match phase {
                Phase::Outside | Phase::InSend => true,
                Phase::InTurn => !turn.output_seen && !turn.message_seen,
                Phase::Failed => false,
            };
            if !allowed {
                return Err(at("compaction after output began"));
            }
            compacting = true;
            continue;
        }
        match (&e.data, phase) {
            (EventData::SessionStart(_), Phase::Outside) if i == 0 => {}
            (EventData::SessionResume(_), Phase::Outside) => {}
            (EventData::McpServersLoaded(_), Phase::Outside) => {}
            (EventData::UserMessage(_), Phase::Outside) => {
                phase = Phase::InSend;
                send_aborted = false;
            }
            (EventData::TurnStart(t), Phase::InSend) => {
                if !turn_ids.insert(t.turn_id.clone()) {
                    return Err(at("turnId reused"));
                }
                turn = Turn {
                    id: t.turn_id.clone(),
                    ..Default::default()
                };
                phase = Phase::InTurn;
            }
            (EventData::TurnRetry(r), Phase::InTurn) => {
                if r.turn_id != turn.id {
                    return Err(at("retry of another turn"));
                }
                if turn.output_seen || turn.message_seen {
                    return Err(at("retry after output"));
                }
            }
            (EventData::ReasoningDelta(d), Phase::InTurn) => {
                if turn.message_id.is_some() || turn.reasoning_done || turn.message_seen {
                    return Err(at(
                        "reasoning delta after the message or the reasoning began",
                    ));
                }
                match &turn.reasoning_id {
                    Some(id) if *id != d.reasoning_id => return Err(at("reasoningId changed")),
                    _ => turn.reasoning_id = Some(d.reasoning_id.clone()),
                }
                turn.output_seen = true;
            }
            (EventData::Reasoning(r), Phase::InTurn) => {
                if turn.reasoning_done || turn.message_id.is_some() || turn.message_seen {
                    return Err(at("reasoning after the message began, or twice"));
                }
                if turn
                    .reasoning_id
                    .as_ref()
                    .is_some_and(|id| *id != r.reasoning_id)
                {
                    return Err(at("reasoningId differs from its deltas"));
                }
                turn.reasoning_done = true;
            }
            (EventData::MessageStart(m), Phase::InTurn) => {
                if turn.message_id.is_some() || turn.message_seen {
                    return Err(at("second message_start"));
                }
                if turn.reasoning_id.is_some() && !turn.reasoning_done {
                    return Err(at(
                        "message began before assistant.reasoning closed the reasoning",
                    ));
                }
                turn.message_id = Some(m.message_id.clone());
                turn.output_seen = true;
            }
            (EventData::MessageDelta(d), Phase::InTurn) => {
                if turn.message_id.as_deref() != Some(d.message_id.as_str()) || turn.message_seen {
                    return Err(at("delta without its message_start, or after the message"));
                }
            }
            (EventData::AssistantMessage(m), Phase::InTurn) => {
                if turn.message_seen || turn.aborted {
                    return Err(at("second assistant.message in a turn, or after abort"));
                }
                if turn
                    .message_id
                    .as_ref()
                    .is_some_and(|id| *id != m.message_id)
                {
                    return Err(at("messageId differs from message_start"));
                }
                if turn.reasoning_id.is_some() && !turn.reasoning_done {
                    return Err(at("reasoning deltas never closed by assistant.reasoning"));
                }
                turn.message_seen = true;
                turn.requested = m
                    .tool_requests
                    .iter()
                    .flatten()
                    .map(|r| r.tool_call_id.clone())
                    .collect();
            }
            (EventData::UsageInfo(_), Phase::InTurn) => {
                if !turn.usage_seen {
                    return Err(at("usage_info before assistant.usage"));
                }
            }
            (EventData::Usage(_), Phase::InTurn) => {
                if turn.usage_seen || !(turn.message_seen || turn.aborted) {
                    return Err(at("usage before the message (or twice)"));
                }
                if !turn.started.is_empty() {
                    return Err(at("usage after the tools began"));
                }
                turn.usage_seen = true;
            }
            (EventData::ToolExecutionStart(t), Phase::InTurn) => {
                if !turn.message_seen {
                    return Err(at("tool start before assistant.message"));
                }
                if !turn.aborted && !turn.usage_seen {
                    return Err(at("tool start before assistant.usage"));
                }
                if !turn.requested.contains(&t.tool_call_id) {
                    return Err(at("tool start for a call the message did not request"));
                }
                if !turn.started.insert(t.tool_call_id.clone()) {
                    return Err(at("tool started twice"));
                }
            }
            (EventData::ToolExecutionComplete(t), Phase::InTurn) => {
                if !turn.started.contains(&t.tool_call_id) {
                    return Err(at("tool complete before its start"));
                }
                if !turn.completed.insert(t.tool_call_id.clone()) {
                    return Err(at("tool completed twice"));
                }
                let code = t.error.as_ref().and_then(|e| e.code.as_deref());
                if turn.aborted && code != Some("interrupted") {
                    return Err(at("a call completing after abort must be interrupted"));
                }
                if t.success != t.error.is_none() {
                    return Err(at("success and error disagree"));
                }
            }
            (EventData::Abort(_), Phase::InTurn) => {
                if turn.aborted {
                    return Err(at("second abort"));
                }
                turn.aborted = true;
                send_aborted = true;
            }
            (EventData::TurnEnd(t), Phase::InTurn) => {
                if t.turn_id != turn.id {
                    return Err(at("turn_end of another turn"));
                }
                if turn.message_seen && !turn.aborted && !turn.usage_seen {
                    return Err(at("turn ended without assistant.usage"));
                }
                let done: HashSet<&String> = turn.completed.iter().collect();
                if turn.message_seen && turn.requested.iter().any(|r| !done.contains(r)) {
                    return Err(at("turn ended with requested tool calls not completed"));
                }
                if !turn.message_seen && !turn.aborted && !skipped_failure {
                    turn_ended_without_answer = true;
                }
                skipped_failure = false;
                phase = Phase::InSend;
            }
            (EventData::SessionError(_), Phase::InSend) => phase = Phase::Failed,
            (EventData::SessionIdle(idle), Phase::InSend | Phase::Failed) => {
                if (idle.aborted == Some(true)) != send_aborted {
                    return Err(at(
                        "idle.aborted does not match whether the send was aborted",
                    ));
                }
                phase = Phase::Outside;
            }
            (_, p) => return Err(at(&format!("not allowed here (phase {p:?})"))),
        }
    }
    if turn_ended_without_answer {
        return Err("the last turn ended without answer or session.error".into());
    }
    if compacting {
        return Err("the sequence ends inside a compaction".into());
    }
    if phase != Phase::Outside {
        return Err(format!("the sequence ends inside a send (phase {phase:?})"));
    }
    Ok(())
}

/// Counts events by type.
pub fn count_kinds(events: &[Event]) -> HashMap<&'static str, usize> {
    let mut out = HashMap::new();
    for e in events {
        *out.entry(e.kind()).or_default() += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::check_event_order;
    use crate::session::bus::EventBus;
    use crate::session::events::*;

    /// Builds a stamped sequence (ids, parents, flags) from event data.
    fn seq(data: Vec<EventData>) -> Vec<Event> {
        let bus = EventBus::default();
        data.into_iter().map(|d| bus.emit(d)).collect()
    }

    fn turn(id: &str) -> TurnData {
        TurnData { turn_id: id.into() }
    }

    fn user() -> EventData {
        EventData::UserMessage(UserMessageData {
            content: "hi".into(),
            attachments: None,
        })
    }

    fn message(id: &str, tools: &[&str]) -> EventData {
        EventData::AssistantMessage(AssistantMessageData {
            message_id: id.into(),
            content: "x".into(),
            tool_requests: (!tools.is_empty()).then(|| {
                tools
                    .iter()
                    .map(|t| ToolRequest {
                        tool_call_id: (*t).into(),
                        name: "t".into(),
                        arguments: serde_json::json!({}),
                    })
                    .collect()
            }),
            reasoning_text: None,
            model: "m".into(),
        })
    }

    fn usage() -> EventData {
        EventData::Usage(UsageData {
            model: "m".into(),
            input_tokens: 0,
            output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            reasoning_tokens: 0,
            duration: 0,
            time_to_first_token_ms: None,
            finish_reason: None,
        })
    }

    fn start(id: &str) -> EventData {
        EventData::ToolExecutionStart(ToolExecutionStartData {
            tool_call_id: id.into(),
            tool_name: "t".into(),
            arguments: serde_json::json!({}),
        })
    }

    fn complete(id: &str, code: Option<&str>) -> EventData {
        EventData::ToolExecutionComplete(ToolExecutionCompleteData {
            tool_call_id: id.into(),
            success: code.is_none(),
            result: None,
            error: code.map(|c| ToolErrorData {
                message: "m".into(),
                code: Some(c.into()),
            }),
        })
    }

    fn idle(aborted: bool) -> EventData {
        EventData::SessionIdle(SessionIdleData {
            aborted: aborted.then_some(true),
        })
    }

    fn start_msg(id: &str) -> EventData {
        EventData::MessageStart(MessageStartData {
            message_id: id.into(),
        })
    }

    fn delta(id: &str) -> EventData {
        EventData::MessageDelta(MessageDeltaData {
            message_id: id.into(),
            delta_content: "d".into(),
        })
    }

    fn good_tool_send() -> Vec<EventData> {
        vec![
            user(),
            EventData::TurnStart(turn("1")),
            start_msg("m1"),
            delta("m1"),
            message("m1", &["a", "b"]),
            usage(),
            start("a"),
            start("b"),
            complete("b", None),
            complete("a", Some("failure")),
            EventData::TurnEnd(turn("1")),
            EventData::TurnStart(turn("2")),
            message("m2", &[]),
            usage(),
            EventData::TurnEnd(turn("2")),
            idle(false),
        ]
    }

    #[test]
    fn accepts_a_well_ordered_send() {
        check_event_order(&seq(good_tool_send()), true).unwrap();
    }

    #[test]
    fn rejects_misordered_sequences() {
        type Mutation = Box<dyn Fn(&mut Vec<EventData>)>;
        let cases: Vec<(&str, Mutation, bool)> = vec![
            ("delta when not streaming", Box::new(|_| {}), false),
            (
                "idle not last",
                Box::new(|v| v.push(EventData::TurnStart(turn("3")))),
                true,
            ),
            ("complete before start", Box::new(|v| v.swap(6, 8)), true),
            ("usage before message", Box::new(|v| v.swap(4, 5)), true),
            (
                "delta before message_start",
                Box::new(|v| v.swap(2, 3)),
                true,
            ),
            (
                "missing turn_end",
                Box::new(|v| {
                    v.remove(10);
                }),
                true,
            ),
            (
                "tool not requested",
                Box::new(|v| v[6] = start("zzz")),
                true,
            ),
            (
                "tool never completed",
                Box::new(|v| {
                    v.remove(9);
                }),
                true,
            ),
            (
                "reused turn id",
                Box::new(|v| {
                    v[11] = EventData::TurnStart(turn("1"));
                    v[14] = EventData::TurnEnd(turn("1"));
                }),
                true,
            ),
            (
                "delta with another message id",
                Box::new(|v| v[3] = delta("other")),
                true,
            ),
            (
                "idle claims abort",
                Box::new(|v| {
                    v.pop();
                    v.push(idle(true));
                }),
                true,
            ),
            (
                "turn ends without answer or error",
                Box::new(|v| {
                    v.drain(12..14);
                }),
                true,
            ),
        ];
        for (name, mutate, streaming) in cases {
            let mut data = good_tool_send();
            mutate(&mut data);
            assert!(
                check_event_order(&seq(data), streaming).is_err(),
                "{name} was accepted"
            );
        }
        // A wrong parent chain and a wrong ephemeral flag.
        let mut events = seq(good_tool_send());
        events.swap(3, 4);
        assert!(check_event_order(&events, true).is_err());
        let mut events = seq(good_tool_send());
        events[5].record_mut().ephemeral = false;
        assert!(
            check_event_order(&events, true)
                .unwrap_err()
                .contains("ephemeral")
        );
    }

    #[test]
    fn abort_and_failure_paths() {
        let aborted = vec![
            user(),
            EventData::TurnStart(turn("1")),
            message("m1", &["a", "b"]),
            usage(),
            start("a"),
            EventData::Abort(AbortData {
                reason: "user_initiated".into(),
            }),
            complete("a", Some("interrupted")),
            start("b"),
            complete("b", Some("interrupted")),
            EventData::TurnEnd(turn("1")),
            idle(true),
        ];
        check_event_order(&seq(aborted.clone()), false).unwrap();
        let mut wrong = aborted.clone();
        wrong[6] = complete("a", Some("failure"));
        assert!(check_event_order(&seq(wrong), false).is_err());
        let failed = vec![
            user(),
            EventData::TurnStart(turn("1")),
            EventData::TurnEnd(turn("1")),
            EventData::SessionError(SessionErrorData {
                error_type: "model_call".into(),
                message: "x".into(),
                status_code: None,
                provider_code: None,
                request_id: None,
                error: None,
            }),
            idle(false),
        ];
        check_event_order(&seq(failed.clone()), false).unwrap();
        let mut wrong = failed;
        wrong.remove(3);
        assert!(check_event_order(&seq(wrong), false).is_err());
    }
}
