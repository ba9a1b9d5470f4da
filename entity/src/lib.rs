//! SeaORM entities: one module per table, no behaviour. Business rules live in
//! the application's `domain` and `service` modules.

pub mod app_setting;
pub mod contact;
pub mod customer;
pub mod customer_rfm;
pub mod customer_tag;
pub mod customer_tier_change;
pub mod erasure;
pub mod event;
pub mod feed_position;
pub mod feedback_event;
pub mod feedback_item;
pub mod feedback_keyword;
pub mod idempotency_key;
pub mod import_error;
pub mod import_key;
pub mod import_run;
pub mod interaction;
pub mod job_run;
pub mod order;
pub mod segment;
pub mod segment_event;
pub mod segment_member;
pub mod staff_member;
pub mod survey;
pub mod survey_answer;
pub mod survey_invitation;
pub mod survey_response;
pub mod task;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_replay;
