CREATE TABLE "access_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"client_id" text NOT NULL,
	"scopes" text[] NOT NULL,
	"issued_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"revoked_at" bigint
);
--> statement-breakpoint
CREATE TABLE "api_clients" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"secret_hash" text NOT NULL,
	"scopes" text[] NOT NULL,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"recorded_at" bigint NOT NULL,
	"actor_id" text,
	"actor_role" text,
	"action" text NOT NULL,
	"outcome" text NOT NULL,
	"patient_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"event" jsonb NOT NULL,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "backup_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"file" text NOT NULL,
	"started_at" bigint NOT NULL,
	"finished_at" bigint,
	"bytes" bigint,
	"sha256" text,
	"rows" bigint,
	"verified_at" bigint,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "break_glass_access" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"reason" text NOT NULL,
	"started_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"reviewed_at" bigint,
	"reviewed_by" text,
	"review_note" text
);
--> statement-breakpoint
CREATE TABLE "care_assignments" (
	"user_id" text NOT NULL,
	"patient_id" text NOT NULL,
	"from_time" bigint NOT NULL,
	"to_time" bigint,
	CONSTRAINT "care_assignments_user_id_patient_id_from_time_pk" PRIMARY KEY("user_id","patient_id","from_time")
);
--> statement-breakpoint
CREATE TABLE "login_failures" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"at" bigint NOT NULL,
	"source_ip" text
);
--> statement-breakpoint
CREATE TABLE "recovery_codes" (
	"user_id" text NOT NULL,
	"code_hash" text NOT NULL,
	"used_at" bigint,
	CONSTRAINT "recovery_codes_user_id_code_hash_pk" PRIMARY KEY("user_id","code_hash")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"last_seen_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"mfa_passed_at" bigint,
	"revoked_at" bigint,
	"source_ip" text,
	"user_agent" text
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" text PRIMARY KEY NOT NULL,
	"username" text NOT NULL,
	"role" text NOT NULL,
	"password_hash" text NOT NULL,
	"password_changed_at" bigint NOT NULL,
	"mfa_secret" text,
	"mfa_enabled_at" bigint,
	"mfa_last_step" bigint,
	"training_completed_at" bigint,
	"patient_id" text,
	"wards" text[] DEFAULT '{}'::text[] NOT NULL,
	"locked_until" bigint,
	"created_at" bigint NOT NULL,
	"last_login_at" bigint,
	"disabled_at" bigint
);
--> statement-breakpoint
CREATE INDEX "access_tokens_client" ON "access_tokens" USING btree ("client_id");--> statement-breakpoint
CREATE INDEX "audit_log_recorded" ON "audit_log" USING btree ("recorded_at");--> statement-breakpoint
CREATE INDEX "audit_log_actor" ON "audit_log" USING btree ("actor_id","recorded_at");--> statement-breakpoint
CREATE INDEX "break_glass_user" ON "break_glass_access" USING btree ("user_id","expires_at");--> statement-breakpoint
CREATE INDEX "care_assignments_patient" ON "care_assignments" USING btree ("patient_id");--> statement-breakpoint
CREATE INDEX "login_failures_user_at" ON "login_failures" USING btree ("username","at");--> statement-breakpoint
CREATE INDEX "sessions_user" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_username" ON "users" USING btree ("username");--> statement-breakpoint
-- The audit trail is append-only for the application: UPDATE, DELETE and TRUNCATE are refused.
-- (An owner can still disable the trigger; the hash chain is what detects that.)
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
--> statement-breakpoint
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
