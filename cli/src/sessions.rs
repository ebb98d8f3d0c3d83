//! `modelport sessions list|show|delete`: the sessions of a store.

use std::sync::Arc;

use clap::Subcommand;
use modelport::store::{self, Holder, LeaseOptions, LeaseRequest, SessionStore};
use modelport::{Client, ClientOptions, Error, ErrorKind, Result};
use serde_json::json;

use crate::StoreArgs;
use crate::chat::View;
use crate::output::{Out, Style};

#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// The stored sessions, most recently modified first.
    List,
    /// One session's metadata and its conversation.
    Show {
        /// The session id.
        id: String,
    },
    /// Deletes a session.
    Delete {
        /// The session id.
        id: String,
    },
}

pub async fn run(args: &StoreArgs, command: SessionsCommand, out: &Out) -> Result<()> {
    let store = match &args.store {
        Some(url) => store::open_store(url)?,
        None => store::default_store()?,
    };
    let client = Client::new(ClientOptions::default().with_store(store.clone()))?;
    let result = match command {
        SessionsCommand::List => list(&client, out).await,
        SessionsCommand::Show { id } => show(&client, &store, &id, out).await,
        SessionsCommand::Delete { id } => delete(&client, &id, out).await,
    };
    client.stop().await;
    result
}

async fn list(client: &Client, out: &Out) -> Result<()> {
    let sessions = client.list_sessions().await?;
    if out.json {
        out.json_document(&json!(sessions));
        return Ok(());
    }
    for s in &sessions {
        out.line(&format!(
            "{}  {}  {}  {}",
            out.paint(Style::Bold, &s.session_id),
            s.modified_time,
            s.model,
            s.summary.as_deref().unwrap_or_default()
        ));
    }
    Ok(())
}

async fn show(client: &Client, store: &Arc<dyn SessionStore>, id: &str, out: &Out) -> Result<()> {
    let metadata = client
        .get_session_metadata(id)
        .await?
        .ok_or_else(|| not_found(id))?;
    // Core has no read-only access to a stored log: take the lease for the read and give it back.
    let lease = LeaseRequest {
        holder: Holder::current(),
        ttl: LeaseOptions::default().ttl,
    };
    let (lease, stored) = store.open(id, &lease).await?;
    store.release(&lease).await?;
    if out.json {
        out.json_document(&json!({"session": metadata, "events": stored.events}));
        return Ok(());
    }
    let field = |name: &str, value: &str| {
        out.line(&format!(
            "{} {value}",
            out.paint(Style::Dim, &format!("{name:9}"))
        ));
    };
    field("session", &metadata.session_id);
    field("model", &metadata.model);
    field("started", &metadata.start_time);
    field("modified", &metadata.modified_time);
    if let Some(summary) = &metadata.summary {
        field("summary", summary);
    }
    out.line("");
    let mut view = View::new(out, false);
    for event in &stored.events {
        view.show(event, true);
    }
    Ok(())
}

async fn delete(client: &Client, id: &str, out: &Out) -> Result<()> {
    if !client.delete_session(id).await? {
        return Err(not_found(id));
    }
    if out.json {
        out.json_document(&json!({"deleted": true, "sessionId": id}));
    } else {
        out.line(&format!("deleted session {id}"));
    }
    Ok(())
}

fn not_found(id: &str) -> Error {
    Error::new(
        ErrorKind::SessionNotFound,
        format!(
            "no session with id \"{id}\" in the session store: `modelport sessions list` lists them"
        ),
    )
}
