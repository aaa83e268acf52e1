// @oauth-broker/client: a typed client for internal services of the OAuth broker.
export {
  BrokerClient,
  type ConnectionFilter,
  type Connection,
  type ConnectionPage,
  type ConnectSession,
  type ConfirmRequest,
  type ConnectSessionState,
  type NewConnectSession,
  type NewConnection,
  type Provider,
  type VendedToken,
} from './client.js'
export type { PrivateJwk, PrivateKey } from './client-assertion.js'
export {
  AuthenticationError,
  BrokerError,
  BrokerUnreachableError,
  ConfirmationPendingError,
  ForbiddenError,
  InvalidConfirmationError,
  NotFoundError,
  ProviderUnavailableError,
  RateLimitedError,
  ReauthorizationRequiredError,
} from './errors.js'
export type { BrokerClientOptions } from './options.js'
export type { RetryOptions } from './transport.js'
export { verifyWebhook, WebhookVerificationError, type VerifyWebhookOptions, type WebhookEvent } from './webhooks.js'
export type { components, operations, paths } from './generated/api.js'
