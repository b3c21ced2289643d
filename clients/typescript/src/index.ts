/**
 * @tracemark/client: check Tracemark item codes online and offline, and verify Tracemark's
 * webhooks. ESM; Node.js 20+ and browsers; one runtime dependency (@noble/ed25519).
 */

export { TracemarkClient, retryAfterMs } from "./client.js";
export type {
  ActorOut,
  BatchResponse,
  CallOptions,
  ClientOptions,
  Context,
  DeliveryList,
  ItemOut,
  KeyOut,
  ListingInput,
  ListingOut,
  ListingResult,
  ListingsResponse,
  Reason,
  VerifyResponse,
  WebhookCreated,
  WebhookList,
} from "./client.js";
export { TracemarkError, type Problem } from "./errors.js";
export { CODE_CONTEXT, MalformedCode, codeMessage, parseCode, type CodeIdentity, type ItemCode } from "./code.js";
export { verifyCode, type OfflineReason, type OfflineVerdict } from "./offline.js";
export {
  DEFAULT_MAX_AGE_MS,
  openTrustBundle,
  type BundleKey,
  type OpenOptions,
  type TrustBundle,
} from "./trust.js";
export { type Checkpoint } from "./note.js";
export {
  BUNDLE_FORMAT,
  rootFromInclusionProof,
  verifyBundle,
  type BundleCheck,
  type BundleResult,
  type ItemSummary,
  type VerifyBundleOptions,
} from "./bundle.js";
export {
  DEFAULT_TOLERANCE_SECONDS,
  signWebhook,
  webhookKey,
  verifyWebhook,
  type HeaderSource,
  type VerifiedWebhook,
  type WebhookOptions,
} from "./webhooks.js";
export type { components, operations, paths } from "./generated/openapi.js";
