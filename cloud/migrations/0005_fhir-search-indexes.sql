CREATE TABLE "fhir_idx_date" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"param" text NOT NULL,
	"start" bigint NOT NULL,
	"end" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fhir_idx_number" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"param" text NOT NULL,
	"value" double precision NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fhir_idx_quantity" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"param" text NOT NULL,
	"value" double precision NOT NULL,
	"system" text,
	"code" text,
	"unit" text
);
--> statement-breakpoint
CREATE TABLE "fhir_idx_reference" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"param" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"url" text
);
--> statement-breakpoint
CREATE TABLE "fhir_idx_string" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"param" text NOT NULL,
	"normalized" text NOT NULL,
	"exact" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fhir_idx_token" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"param" text NOT NULL,
	"system" text,
	"code" text,
	"text" text
);
--> statement-breakpoint
CREATE TABLE "fhir_idx_uri" (
	"resource_type" text NOT NULL,
	"id" text NOT NULL,
	"param" text NOT NULL,
	"uri" text NOT NULL
);
--> statement-breakpoint
CREATE INDEX "fhir_idx_date_range" ON "fhir_idx_date" USING btree ("resource_type","param","start","end");--> statement-breakpoint
CREATE INDEX "fhir_idx_date_res" ON "fhir_idx_date" USING btree ("resource_type","id");--> statement-breakpoint
CREATE INDEX "fhir_idx_number_value" ON "fhir_idx_number" USING btree ("resource_type","param","value");--> statement-breakpoint
CREATE INDEX "fhir_idx_number_res" ON "fhir_idx_number" USING btree ("resource_type","id");--> statement-breakpoint
CREATE INDEX "fhir_idx_quantity_value" ON "fhir_idx_quantity" USING btree ("resource_type","param","value");--> statement-breakpoint
CREATE INDEX "fhir_idx_quantity_res" ON "fhir_idx_quantity" USING btree ("resource_type","id");--> statement-breakpoint
CREATE INDEX "fhir_idx_reference_target" ON "fhir_idx_reference" USING btree ("resource_type","param","target_id","target_type");--> statement-breakpoint
CREATE INDEX "fhir_idx_reference_rev" ON "fhir_idx_reference" USING btree ("target_type","target_id");--> statement-breakpoint
CREATE INDEX "fhir_idx_reference_res" ON "fhir_idx_reference" USING btree ("resource_type","id");--> statement-breakpoint
CREATE INDEX "fhir_idx_string_value" ON "fhir_idx_string" USING btree ("resource_type","param","normalized");--> statement-breakpoint
CREATE INDEX "fhir_idx_string_res" ON "fhir_idx_string" USING btree ("resource_type","id");--> statement-breakpoint
CREATE INDEX "fhir_idx_token_code" ON "fhir_idx_token" USING btree ("resource_type","param","code","system");--> statement-breakpoint
CREATE INDEX "fhir_idx_token_res" ON "fhir_idx_token" USING btree ("resource_type","id");--> statement-breakpoint
CREATE INDEX "fhir_idx_uri_value" ON "fhir_idx_uri" USING btree ("resource_type","param","uri");--> statement-breakpoint
CREATE INDEX "fhir_idx_uri_res" ON "fhir_idx_uri" USING btree ("resource_type","id");