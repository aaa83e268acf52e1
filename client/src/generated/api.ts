// Generated from openapi.yaml by `npm run client:types` (openapi-typescript); do not edit.
// test/client/types.test.ts fails when it differs from what openapi.yaml gives.
export interface paths {
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process is up */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: database reachable and migrations applied */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The public keys that verify broker tokens (RFC 7517) */
        get: operations["getJwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/.well-known/oauth-authorization-server": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Authorization server metadata (RFC 8414) */
        get: operations["getAuthorizationServerMetadata"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Get a broker token (client_credentials), or exchange one for a connection's token (RFC 8693)
         * @description Authenticate a service client with HTTP Basic (RFC 6749 §2.3.1), client_id/client_secret in the form, or a client assertion signed with one of its registered keys (RFC 7523 private_key_jwt: client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer, iss = sub = client id, aud = the issuer identifier only, exp at most 5 minutes ahead, a jti used once), one method per request, and receive a short-lived JWT access token (RFC 9068) for the /v1 API. With grant_type=urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693), subject_token = a broker token of the same client (subject_token_type=urn:ietf:params:oauth:token-type:access_token, scope tokens:read) and resource=urn:oauth-broker:connection:<id>, receive the connection's provider access token under the rules of POST /v1/connections/{id}/access-token, with `headers` the provider API needs. Exchanges are not counted against RATE_LIMIT_TOKEN.
         */
        post: operations["requestBrokerToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/connect/{token}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Start a connect attempt (the URL a service sends its user to)
         * @description OAuth 2.0 providers: binds the attempt to this browser with an HttpOnly SameSite=Lax cookie and redirects to the provider with state and PKCE S256. API-key and credential-exchange providers: shows a form for the credentials. Each opening starts an attempt of its own (at most 10 per link); the first to complete wins. `HEAD` starts none: it answers 200 for a usable link.
         */
        get: operations["startConnect"];
        put?: never;
        /**
         * Submit the connect form (API-key and credential-exchange providers)
         * @description Checks the credentials with the provider, stores them encrypted, and ends like a callback: a redirect to returnUrl with connection_id and status=connected (status=pending_confirmation with a confirmation_code for a session with confirm), or a page.
         */
        post: operations["submitConnectForm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/oauth/callback/{provider}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The provider's redirect back to the broker (register this as the redirect URI)
         * @description Consumes the attempt once, checks the browser binding, the provider and RFC 9207 `iss`, exchanges the code and stores the connection. Ends with a redirect to the session returnUrl (`connection_id`, `status=connected` or `status=pending_confirmation&confirmation_code=…`, or `status=error&error=<code>`) or a small HTML page. `HEAD` is refused (400) and spends neither the attempt nor the code.
         */
        get: operations["completeAuthorization"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/providers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the configured providers
         * @description What the broker can connect to, and what each needs. Never a secret.
         */
        get: operations["listProviders"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/connections": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List connections
         * @description Metadata only, never tokens. Ordered by id; pass nextCursor as cursor for the next page.
         */
        get: operations["listConnections"];
        put?: never;
        /**
         * Create a connection from credentials
         * @description For API-key and credential-exchange providers the credentials are checked with the provider first. For OAuth 2.0 providers, existing tokens are imported as they are.
         */
        post: operations["createConnection"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/connect-sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create a connect session
         * @description Returns a connect URL to send the end user's browser to. The session expires on its own. `connectionId` re-authorizes that connection in place.
         */
        post: operations["createConnectSession"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/connections/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a connection */
        get: operations["getConnection"];
        put?: never;
        post?: never;
        /**
         * Delete a connection, revoking it at the provider
         * @description Revokes at the provider where it can (the refresh token first, then the access token), deletes the tokens, and answers 204; the connection answers 404 from then on. The outcome at the provider is recorded in the audit event connection.revoked.
         */
        delete: operations["deleteConnection"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/connections/{id}/access-token": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Get the connection's access token, fresh
         * @description The token returned is valid for at least minValiditySeconds (default 60), refreshed first when needed; concurrent callers share one refresh. If even a fresh token cannot last that long, it is returned with its true expiresAt.
         */
        post: operations["getAccessToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/connections/{id}/confirm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Confirm (or reject) a connection's end user
         * @description For a connect session with `confirm`: the browser came back to returnUrl with `status=pending_confirmation&confirmation_code=…`. Once the service has checked that its signed-in user is the intended owner, it confirms with that code: the grant becomes usable (200, status active). `accept: false` discards the grant and revokes it at the provider (204). A wrong, used or expired code changes nothing (400 invalid_confirmation); the fifth wrong code discards the grant.
         */
        post: operations["confirmConnection"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/connect-sessions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a connect session
         * @description How the session stands: pending, completed, pending_confirmation, failed or expired.
         */
        get: operations["getConnectSession"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/service-clients": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List service clients
         * @description Every client the caller could manage: an admin holding only some namespaces sees only the clients within them.
         */
        get: operations["listServiceClients"];
        put?: never;
        /**
         * Register a service client
         * @description Returns the client secret once; only its hash is stored. With `jwks` the client authenticates with its keys (RFC 7523 private_key_jwt) and has no secret.
         */
        post: operations["createServiceClient"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/service-clients/{clientId}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a service client
         * @description Its broker tokens stop working at once on every replica.
         */
        delete: operations["deleteServiceClient"];
        options?: never;
        head?: never;
        /**
         * Change a service client
         * @description Each field given replaces the stored one; new keys (jwks) replace any secret. The change holds on every replica within a second, for broker tokens already issued too: a token's scopes are its own intersected with the client's current ones, and its namespaces are the client's current ones.
         */
        patch: operations["updateServiceClient"];
        trace?: never;
    };
    "/v1/service-clients/{clientId}/rotate-secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate a service client's secret
         * @description Returns a new secret once. The previous one keeps working for overlapSeconds, so the service can roll out the new one without downtime; an older previous secret stops at once. A client with keys (jwks) has no secret: 400.
         */
        post: operations["rotateServiceClientSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/signing-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List signing keys */
        get: operations["listSigningKeys"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/signing-keys/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate the signing key
         * @description Publishes a new key now and signs with it after activateInSeconds; older keys stay published for one broker-token lifetime after that.
         */
        post: operations["rotateSigningKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/audit-events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List audit events */
        get: operations["listAuditEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List the caller's webhook endpoints */
        get: operations["listWebhookEndpoints"];
        put?: never;
        /**
         * Register a webhook endpoint
         * @description Lifecycle events of the connections in its namespaces are sent to `url`, signed per the Standard Webhooks specification with the returned secret (shown once). See docs/webhooks.md.
         */
        post: operations["createWebhookEndpoint"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a webhook endpoint */
        get: operations["getWebhookEndpoint"];
        put?: never;
        post?: never;
        /** Delete a webhook endpoint */
        delete: operations["deleteWebhookEndpoint"];
        options?: never;
        head?: never;
        /**
         * Disable or re-enable a webhook endpoint
         * @description A disabled endpoint receives nothing; events that happen meanwhile are not kept for it.
         */
        patch: operations["updateWebhookEndpoint"];
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}/rotate-secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate a webhook endpoint's secret
         * @description Returns a new secret once. For 24 hours every delivery carries two signatures, one with each secret, so the receiver can roll out the new one without losing events.
         */
        post: operations["rotateWebhookEndpointSecret"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-endpoints/{id}/deliveries": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Recent delivery attempts to a webhook endpoint
         * @description Newest first; each with its response status or error class, never a response body.
         */
        get: operations["listWebhookDeliveries"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description RFC 9457 problem details */
        Problem: {
            type: string;
            title: string;
            status: number;
            /** @description Stable machine-readable error code */
            code: string;
            detail?: string;
            instance?: string;
        } & {
            [key: string]: unknown;
        };
        /** Health */
        Health: {
            /** @enum {string} */
            status: "ok";
        };
        /** Problem500 */
        Problem500: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "internal_error" | "secret_unreadable";
        };
        /** ShuttingDownProblem */
        ShuttingDownProblem: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "shutting_down";
        };
        /** Readiness */
        Readiness: {
            /** @enum {string} */
            status: "ready" | "unavailable";
            checks: {
                /** @enum {string} */
                database: "ok" | "unreachable";
                /** @enum {string} */
                migrations: "ok" | "pending" | "unknown";
            };
        };
        /** Jwk */
        Jwk: {
            kty: string;
            crv?: string;
            x?: string;
            y?: string;
            n?: string;
            e?: string;
            kid: string;
            alg: string;
            use: string;
        };
        /** JwkSet */
        JwkSet: {
            keys: components["schemas"]["Jwk"][];
        };
        /** AuthorizationServerMetadata */
        AuthorizationServerMetadata: {
            issuer: string;
            token_endpoint: string;
            jwks_uri: string;
            grant_types_supported: string[];
            response_types_supported: string[];
            token_endpoint_auth_methods_supported: string[];
            token_endpoint_auth_signing_alg_values_supported: string[];
            scopes_supported: string[];
            access_token_signing_alg_values_supported: string[];
            service_documentation: string;
        };
        /** TokenRequest */
        TokenRequest: {
            grant_type: string;
            scope?: string;
            client_id?: string;
            client_secret?: string;
            /** @description urn:ietf:params:oauth:client-assertion-type:jwt-bearer */
            client_assertion_type?: string;
            client_assertion?: string;
            /** @description A broker token of the calling client */
            subject_token?: string;
            /** @description urn:ietf:params:oauth:token-type:access_token */
            subject_token_type?: string;
            /** @description urn:ietf:params:oauth:token-type:access_token (the only one) */
            requested_token_type?: string;
            /** @description urn:oauth-broker:connection:<id> */
            resource?: string;
        } & {
            [key: string]: unknown;
        };
        /** TokenResponse */
        TokenResponse: {
            /** @description A broker token, or (token exchange) the connection's provider token */
            access_token: string;
            /**
             * @description Token exchange only
             * @enum {string}
             */
            issued_token_type?: "urn:ietf:params:oauth:token-type:access_token";
            /** @enum {string} */
            token_type: "Bearer";
            /** @description Always for a broker token; absent when the provider gave no expiry */
            expires_in?: number;
            scope: string;
            /** @description Token exchange only: headers the provider's API needs besides Authorization (e.g. X-Tenant) */
            headers?: {
                [key: string]: string;
            };
        };
        /** OAuthError */
        OAuthError: {
            /** @enum {string} */
            error: "invalid_request" | "invalid_client" | "unsupported_grant_type" | "invalid_scope" | "server_error" | "temporarily_unavailable" | "invalid_grant" | "invalid_target";
            error_description?: string;
        };
        /** Problem429 */
        Problem429: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "rate_limited";
        };
        /** Provider */
        Provider: {
            key: string;
            displayName: string;
            /** @enum {string} */
            mode: "oauth2" | "api_key" | "credential_exchange";
            docsUrl: string | null;
            /** @description The redirect URI to register at the provider (OAuth 2.0 providers) */
            redirectUri: string | null;
            /** @description Scopes requested by default (OAuth 2.0 providers) */
            scopes: string[];
            pkce: boolean;
            issuer: string | null;
            /** @enum {string} */
            revocation: "rfc7009" | "bearer_delete" | "none";
            /** @description Connect-session params the provider needs (URL placeholders) */
            params: {
                name: string;
                pattern: string;
                description: string | null;
            }[];
            /** @description What a user supplies (API-key and credential-exchange providers) */
            credentialFields: {
                name: string;
                label: string;
                /** @enum {string} */
                kind: "secret" | "url" | "text";
            }[];
            /** @description Headers handed out with tokens besides Authorization */
            apiHeaders: string[];
        };
        /** Problem401 */
        Problem401: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "unauthorized";
        };
        /** Problem403 */
        Problem403: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "insufficient_scope" | "namespace_forbidden";
        };
        /** Problem503 */
        Problem503: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "provider_unavailable" | "database_unavailable" | "shutting_down";
        };
        /** NewConnection */
        NewConnection: {
            provider: string;
            /** @description The caller's identifier for whose connection it is */
            ownerId: string;
            /** @description The provider's own credential fields (respond.io {apiKey}; Interact {intranetUrl, apiKey, apiSecret}), or for OAuth 2.0 providers tokens imported from another system {accessToken, refreshToken?, expiresAt?, scopes?} */
            credentials: {
                [key: string]: string | string[];
            };
            params?: {
                [key: string]: string;
            };
            /** @description Optional when the caller holds exactly one namespace */
            namespace?: string;
        };
        /** Connection */
        Connection: {
            id: string;
            provider: string;
            ownerId: string;
            namespace: string;
            /** @enum {string} */
            status: "active" | "pending_confirmation" | "reauthorization_required";
            scopes: string[];
            /**
             * Format: date-time
             * @description Expiry of the current access token; null when the provider gave none
             */
            expiresAt: string | null;
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            updatedAt: string;
            /** Format: date-time */
            lastRefreshedAt: string | null;
            lastErrorCode: string | null;
            /** @description Non-secret fields of the provider token response (account ids, ...) */
            metadata: {
                [key: string]: unknown;
            };
            /** @description Connect parameters (e.g. subdomain) */
            params: {
                [key: string]: unknown;
            };
            /** @description A grant waits for POST /v1/connections/{id}/confirm: a new connection (status pending_confirmation), or a re-authorization (the old grant stays in use until then) */
            pendingConfirmation: boolean;
        };
        /** Problem400 */
        Problem400: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "invalid_request" | "invalid_return_url" | "invalid_webhook_url" | "invalid_params" | "invalid_scope" | "unknown_provider" | "invalid_connection" | "invalid_credentials" | "namespace_required" | "invalid_jwks" | "invalid_confirmation";
        };
        /** Problem413 */
        Problem413: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "payload_too_large";
        };
        /** Problem415 */
        Problem415: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "unsupported_media_type";
        };
        /** ConnectionPage */
        ConnectionPage: {
            items: components["schemas"]["Connection"][];
            nextCursor: string | null;
        };
        /** NewConnectSession */
        NewConnectSession: {
            provider: string;
            /** @description The caller's identifier for whose connection it is */
            ownerId: string;
            /** @description Must be under one of the allowed return URLs of the calling service client */
            returnUrl?: string;
            params?: {
                [key: string]: string;
            };
            scopes?: string[];
            connectionId?: string;
            /** @description Optional when the caller holds exactly one namespace; with connectionId, that connection's */
            namespace?: string;
            /** @description Hold the grant until the service confirms its end user with the code sent to returnUrl (POST /v1/connections/{id}/confirm); needs a returnUrl. Default: the client's requireConfirmation when returnUrl is given, else false */
            confirm?: boolean;
        };
        /** ConnectSession */
        ConnectSession: {
            id: string;
            /** @description Send the end user's browser here */
            connectUrl: string;
            /** Format: date-time */
            expiresAt: string;
        };
        /** Problem404 */
        Problem404: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "not_found" | "service_client_not_found" | "connection_not_found" | "connect_session_not_found" | "webhook_endpoint_not_found";
        };
        /** AccessTokenRequest */
        AccessTokenRequest: {
            /**
             * @description The token must stay valid at least this long; the broker refreshes first if not
             * @default 60
             */
            minValiditySeconds: number;
            /**
             * @description Refresh even if the token is fresh (concurrent calls still share one refresh)
             * @default false
             */
            forceRefresh: boolean;
        };
        /** AccessToken */
        AccessToken: {
            accessToken: string;
            tokenType: string;
            /**
             * Format: date-time
             * @description True expiry; may be sooner than asked when the provider issues short lifetimes
             */
            expiresAt: string | null;
            scopes: string[];
            provider: string;
            connectionId: string;
            /** @description Headers the provider's API needs besides `Authorization: <tokenType> <accessToken>` (Interact: X-Tenant); empty for most providers */
            headers: {
                [key: string]: string;
            };
        };
        /** Problem409 */
        Problem409: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "conflict" | "reauthorization_required" | "confirmation_pending";
        };
        /** Problem502 */
        Problem502: components["schemas"]["Problem"] & {
            /** @enum {string} */
            code?: "provider_rejected";
        };
        /** ConfirmRequest */
        ConfirmRequest: {
            /** @description The confirmation_code the browser brought to returnUrl */
            confirmationCode: string;
            /**
             * @description false: the end user is not the intended owner; the grant is discarded and revoked
             * @default true
             */
            accept: boolean;
        };
        /** ConnectSessionStatus */
        ConnectSessionStatus: {
            id: string;
            provider: string;
            ownerId: string;
            namespace: string;
            /** @enum {string} */
            status: "pending" | "completed" | "pending_confirmation" | "failed" | "expired";
            /** @description The connection made (or re-authorized) */
            connectionId?: string;
            /** @description Why it failed: a connect error code, or confirmation_rejected, confirmation_failed (5 wrong codes), confirmation_superseded (a later re-authorization) */
            error?: string;
            /** Format: date-time */
            expiresAt: string;
        };
        /**
         * ClientJwkSet
         * @description Public keys instead of a secret (RFC 7523 private_key_jwt): {"keys": [...]}, at most 5 asymmetric public keys (RSA of 2048 bits or more, EC P-256/384/521, OKP Ed25519), each with a kid unique in the set; no private members, no symmetric (oct) keys; use "sig" and an alg fitting the key where given
         */
        ClientJwkSet: {
            keys: {
                [key: string]: unknown;
            }[];
        } & {
            [key: string]: unknown;
        };
        /** NewServiceClient */
        NewServiceClient: {
            name: string;
            scopes: string[];
            /** @description Namespace names, or ["*"] for all; an admin grants only namespaces it holds; default ["default"] */
            namespaces?: string[];
            /** @default [] */
            allowedReturnUrls: string[];
            /** @description Where its webhook endpoints may point; default [] */
            allowedWebhookUrls?: string[];
            jwks?: components["schemas"]["ClientJwkSet"];
            /** @description Whether its connect sessions with a returnUrl confirm the end user by default (the grant waits for POST /v1/connections/{id}/confirm); default true */
            requireConfirmation?: boolean;
        };
        /** ClientJwk */
        ClientJwk: {
            /** @enum {string} */
            kty: "RSA" | "EC" | "OKP";
            kid: string;
            /** @enum {string} */
            use?: "sig";
            /** @enum {string} */
            alg?: "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" | "ES256" | "ES384" | "ES512" | "EdDSA" | "Ed25519";
            key_ops?: "verify"[];
            n?: string;
            e?: string;
            crv?: string;
            x?: string;
            y?: string;
        };
        /** ServiceClient */
        ServiceClient: {
            clientId: string;
            name: string;
            scopes: ("connect:write" | "connections:write" | "connections:read" | "connections:revoke" | "tokens:read" | "clients:admin" | "webhooks:write")[];
            /** @description The namespaces whose connections it may touch; ["*"]: all */
            namespaces: string[];
            allowedReturnUrls: string[];
            /** @description Where its webhook endpoints may point (origin and path prefix) */
            allowedWebhookUrls: string[];
            /** @description The public keys of a client that authenticates with private_key_jwt */
            jwks?: {
                keys: components["schemas"]["ClientJwk"][];
            };
            /** Format: date-time */
            createdAt: string;
            /** @description Whether its connect sessions with a returnUrl confirm the end user by default (the grant waits for POST /v1/connections/{id}/confirm) */
            requireConfirmation: boolean;
        };
        /** ServiceClientChanges */
        ServiceClientChanges: {
            name?: string;
            scopes?: string[];
            /** @description Namespace names, or ["*"] for all; an admin grants only namespaces it holds */
            namespaces?: string[];
            allowedReturnUrls?: string[];
            /** @description http(s) URLs (origin and path prefix); link-local, multicast and unspecified addresses refused */
            allowedWebhookUrls?: string[];
            jwks?: components["schemas"]["ClientJwkSet"];
            /** @description Whether its connect sessions with a returnUrl confirm the end user by default (the grant waits for POST /v1/connections/{id}/confirm) */
            requireConfirmation?: boolean;
        };
        /** RotateSecretRequest */
        RotateSecretRequest: {
            /**
             * @description How long the previous secret keeps working beside the new one (0: it stops at once)
             * @default 3600
             */
            overlapSeconds: number;
        };
        /** RotatedSecret */
        RotatedSecret: {
            clientId: string;
            /** @description The new secret, shown once */
            clientSecret: string;
            /**
             * Format: date-time
             * @description Until when the previous secret works; null when it stopped at once
             */
            previousSecretExpiresAt: string | null;
        };
        /** SigningKey */
        SigningKey: {
            kid: string;
            alg: string;
            /** @enum {string} */
            status: "pending" | "active" | "retiring" | "retired";
            /** Format: date-time */
            createdAt: string;
            /** Format: date-time */
            activatesAt: string;
            /** Format: date-time */
            retiresAt: string | null;
        };
        /** SigningKeyRotation */
        SigningKeyRotation: {
            /**
             * @description Delay between publishing the new key in the JWKS and signing with it; at least the JWKS cache lifetime (60 s), so verifiers see the key before its first token
             * @default 120
             */
            activateInSeconds: number;
        };
        /** AuditEvent */
        AuditEvent: {
            id: string;
            /** Format: date-time */
            occurredAt: string;
            type: string;
            /** @description Service client id, or bootstrap, cli, system */
            actor: string;
            connectionId: string | null;
            /** @description The connection's namespace; null for events about no connection */
            namespace: string | null;
            detail: {
                [key: string]: unknown;
            };
        };
        /** AuditEventPage */
        AuditEventPage: {
            items: components["schemas"]["AuditEvent"][];
            nextCursor: string | null;
        };
        /** NewWebhookEndpoint */
        NewWebhookEndpoint: {
            /** @description Under one of the service client's allowedWebhookUrls (origin and path prefix) */
            url: string;
            /** @description The event types to receive, or ["*"] for all */
            events: ("*" | "connection.created" | "connection.reauthorized" | "connection.reauthorization_required" | "connection.deleted")[];
            /** @description Whose events it receives; default: the caller's namespaces, never beyond them */
            namespaces?: string[];
        };
        /** WebhookEndpoint */
        WebhookEndpoint: {
            id: string;
            url: string;
            events: string[];
            namespaces: string[];
            /** @description False when disabled by PATCH, or after 5 days of failed deliveries */
            enabled: boolean;
            /** Format: date-time */
            createdAt: string;
        };
        /** WebhookEndpointChanges */
        WebhookEndpointChanges: {
            enabled: boolean;
        };
        /** RotatedWebhookSecret */
        RotatedWebhookSecret: {
            /** @description whsec_ + base64 of 32 random bytes: the Standard Webhooks signing secret, shown once */
            secret: string;
            /**
             * Format: date-time
             * @description Until then the previous secret signs beside the new one
             */
            previousSecretExpiresAt: string;
        };
        /** DeliveryAttempts */
        DeliveryAttempts: {
            items: {
                /** @description The webhook-id header */
                eventId: string;
                type: string;
                attempt: number;
                responseStatus: number | null;
                /** @description timeout, connection_refused, connection_reset, dns_failure, blocked_address, namespace_not_held, url_not_allowed (not sent), ... */
                error: string | null;
                /** Format: date-time */
                attemptedAt: string;
            }[];
        };
    };
    responses: never;
    parameters: {
        /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
        RequestId: string;
    };
    requestBodies: never;
    headers: {
        /** @description The request's id, as logged by the broker (see the x-request-id parameter) */
        RequestId: string;
        /** @description Seconds to wait before retrying (RFC 9110 §10.2.3) */
        RetryAfter: number;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHealth: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Up */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description The broker is shutting down; retry, another replica will answer (code: shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ShuttingDownProblem"];
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Not ready (body: the failing check), or shutting down (problem+json, code: shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                    "application/problem+json": components["schemas"]["ShuttingDownProblem"];
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text exposition format */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description The broker is shutting down; retry, another replica will answer (code: shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ShuttingDownProblem"];
                };
            };
        };
    };
    getJwks: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description JSON Web Key Set */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["JwkSet"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description The broker is shutting down; retry, another replica will answer (code: shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ShuttingDownProblem"];
                };
            };
        };
    };
    getAuthorizationServerMetadata: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Metadata */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthorizationServerMetadata"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description The broker is shutting down; retry, another replica will answer (code: shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["ShuttingDownProblem"];
                };
            };
        };
    };
    requestBrokerToken: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": components["schemas"]["TokenRequest"];
            };
        };
        responses: {
            /** @description A broker token, or (token exchange) the connection's provider token */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TokenResponse"];
                };
            };
            /** @description invalid_request, unsupported_grant_type or invalid_scope (RFC 6749 §5.2); for a token exchange also invalid_target (no such connection for this client, or a resource of another form) and invalid_grant (the connection needs its user: the broker's code, e.g. reauthorization_required, starts error_description) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description invalid_client, with WWW-Authenticate */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description server_error */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
            /** @description temporarily_unavailable: the database or (token exchange) the provider is unreachable, or the broker is shutting down; error_description names the cause */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OAuthError"];
                };
            };
        };
    };
    startConnect: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                token: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The credentials form (API-key and credential-exchange providers); for HEAD, a usable link */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Redirect to the provider's authorization endpoint */
            302: {
                headers: {
                    location?: string;
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The link was used, expired, or opened too many times */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Unknown link */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Rate limited */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The provider or the database is unavailable, or the broker is shutting down */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    submitConnectForm: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                token: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/x-www-form-urlencoded": {
                    [key: string]: string;
                };
            };
        };
        responses: {
            /** @description Connected (no returnUrl) */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Back to the service: returnUrl with connection_id and status=connected (or status=pending_confirmation&confirmation_code=…), or status=error&error=<code> */
            302: {
                headers: {
                    location?: string;
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Refused credentials (the form again, with the reason), an invalid attempt, or a session another attempt completed first */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Unknown link */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The connection to re-authorize no longer exists */
            409: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Body too large */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Not a form */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Rate limited */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The provider or the database is unavailable (the form again), or the broker is shutting down */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    completeAuthorization: {
        parameters: {
            query?: {
                state?: string;
                code?: string;
                iss?: string;
                error?: string;
                error_description?: string;
                error_uri?: string;
            };
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                provider: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Connected (no returnUrl) */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Back to the service: returnUrl with connection_id and status=connected (or status=pending_confirmation&confirmation_code=…), or status=error&error=<code> */
            302: {
                headers: {
                    location?: string;
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Refused: invalid, replayed or expired state, another browser, wrong or unknown provider, wrong issuer, provider error, or a session another attempt completed first */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The connection to re-authorize no longer exists */
            409: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Rate limited */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description Internal error */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The provider refused the broker's client at the code exchange */
            502: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description The provider (unusable answer at the code exchange) or the database is unavailable, or the broker is shutting down */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
        };
    };
    listProviders: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Configured providers */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Provider"][];
                    };
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    listConnections: {
        parameters: {
            query?: {
                provider?: string;
                /** @description The caller's identifier for whose connection it is */
                ownerId?: string;
                status?: "active" | "pending_confirmation" | "reauthorization_required";
                /** @description Only this namespace (one the caller holds); default: all the caller's */
                namespace?: string;
                cursor?: string;
                limit?: number;
            };
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of connections */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectionPage"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    createConnection: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewConnection"];
            };
        };
        responses: {
            /** @description The connection (metadata only) */
            201: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Connection"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    createConnectSession: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewConnectSession"];
            };
        };
        responses: {
            /** @description The session */
            201: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectSession"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    getConnection: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The connection (metadata only) */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Connection"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    deleteConnection: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked and deleted */
            204: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    getAccessToken: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AccessTokenRequest"];
            };
        };
        responses: {
            /** @description The provider's access token */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccessToken"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Conflict (code: conflict, reauthorization_required, confirmation_pending) */
            409: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem409"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Bad gateway (code: provider_rejected) */
            502: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem502"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    confirmConnection: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ConfirmRequest"];
            };
        };
        responses: {
            /** @description The connection, now usable */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Connection"];
                };
            };
            /** @description Rejected: the grant was discarded and revoked */
            204: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    getConnectSession: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The session (never its connect URL) */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConnectSessionStatus"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    listServiceClients: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The clients, without secrets */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["ServiceClient"][];
                    };
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    createServiceClient: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewServiceClient"];
            };
        };
        responses: {
            /** @description The new client, with its secret unless it has keys */
            201: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ServiceClient"] & {
                        clientSecret?: string;
                    };
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    deleteServiceClient: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                clientId: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    updateServiceClient: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                clientId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ServiceClientChanges"];
            };
        };
        responses: {
            /** @description The changed client */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ServiceClient"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    rotateServiceClientSecret: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                clientId: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RotateSecretRequest"];
            };
        };
        responses: {
            /** @description The new secret */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RotatedSecret"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    listSigningKeys: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Published keys (no key material) */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["SigningKey"][];
                    };
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    rotateSigningKey: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SigningKeyRotation"];
            };
        };
        responses: {
            /** @description The new key */
            201: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SigningKey"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    listAuditEvents: {
        parameters: {
            query?: {
                connectionId?: string;
                type?: "service_client.created" | "service_client.updated" | "service_client.deleted" | "service_client.secret_rotated" | "service_client.keys_changed" | "signing_key.created" | "signing_key.rotated" | "broker_token.issued" | "encryption.reencrypted" | "connection.created" | "connection.reauthorized" | "connection.revoked" | "connection.token_vended" | "connection.refresh_succeeded" | "connection.refresh_failed" | "connection.confirmed" | "connection.confirmation_discarded" | "webhook_endpoint.created" | "webhook_endpoint.updated" | "webhook_endpoint.deleted" | "webhook_endpoint.secret_rotated";
                /** @description Only this namespace's events (one the caller holds) */
                namespace?: string;
                /** @description nextCursor of the previous page */
                cursor?: string;
                limit?: number;
            };
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of events, newest first */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEventPage"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    listWebhookEndpoints: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every endpoint of the caller */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["WebhookEndpoint"][];
                    };
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    createWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewWebhookEndpoint"];
            };
        };
        responses: {
            /** @description The endpoint and its secret */
            201: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"] & {
                        /** @description whsec_ + base64 of 32 random bytes: the Standard Webhooks signing secret, shown once */
                        secret: string;
                    };
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    getWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The endpoint */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    deleteWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted, with its pending deliveries */
            204: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    updateWebhookEndpoint: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["WebhookEndpointChanges"];
            };
        };
        responses: {
            /** @description The changed endpoint */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookEndpoint"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    rotateWebhookEndpointSecret: {
        parameters: {
            query?: never;
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        /** @description Empty: {} */
        requestBody: {
            content: {
                "application/json": Record<string, never>;
            };
        };
        responses: {
            /** @description The new secret */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RotatedWebhookSecret"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Request body too large (code: payload_too_large) */
            413: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem413"];
                };
            };
            /** @description Unsupported content type (code: unsupported_media_type) */
            415: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem415"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
    listWebhookDeliveries: {
        parameters: {
            query?: {
                limit?: number;
            };
            header?: {
                /** @description Kept as the request id only from a trusted proxy (TRUST_PROXY) and when it matches the pattern; otherwise the broker generates one */
                "x-request-id"?: components["parameters"]["RequestId"];
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The recent attempts */
            200: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeliveryAttempts"];
                };
            };
            /** @description Bad request (code: invalid_request, invalid_return_url, invalid_webhook_url, invalid_params, invalid_scope, unknown_provider, invalid_connection, invalid_credentials, namespace_required, invalid_jwks, invalid_confirmation) */
            400: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem400"];
                };
            };
            /** @description Missing or invalid broker token (code: unauthorized) */
            401: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem401"];
                };
            };
            /** @description Forbidden: the broker token lacks the scope, or the namespace is not the caller's (code: insufficient_scope, namespace_forbidden) */
            403: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem403"];
                };
            };
            /** @description Not found (code: not_found, service_client_not_found, connection_not_found, connect_session_not_found, webhook_endpoint_not_found) */
            404: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem404"];
                };
            };
            /** @description Rate limited (code: rate_limited) */
            429: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem429"];
                };
            };
            /** @description Internal error (code: internal_error, secret_unreadable) */
            500: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem500"];
                };
            };
            /** @description Unavailable (code: provider_unavailable, database_unavailable, shutting_down) */
            503: {
                headers: {
                    "x-request-id": components["headers"]["RequestId"];
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem503"];
                };
            };
        };
    };
}
