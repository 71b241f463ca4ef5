//! Email: the outbox, its worker, the SMTP transport and the message templates.
pub mod messages;
pub mod outbox;
pub mod worker;
