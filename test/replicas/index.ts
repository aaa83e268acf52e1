// Local replicas of the launch providers, for tests (see docs/providers.md).
//
//   const cw = await startChatworkReplica({ redirectUris: [`${broker.url}/oauth/callback/chatwork`] })
//   // catalog entry: authorizationUrl/tokenUrl = cw.urls.*, clientId/clientSecret = cw.clientId/…
//   const back = await cw.authorize(locationTheBrokerRedirectedTo)   // ?code=…&state=… (not followed)
//   await fetch(back)                                                // the broker's callback
//   expect(cw.rejections).toEqual([])                                // nothing the provider would refuse
//   expect(cw.refreshCount()).toBe(1); cw.usedRefreshTokens; cw.isValid(token); cw.expireAccessTokens()
//   cw.failNext(1, { path: '/token' }); cw.setLatency(200); await cw.close()
export { startChatworkReplica, CHATWORK_SCOPES, type ChatworkReplica, type ChatworkReplicaOptions } from './chatwork.js'
export { startLiveChatReplica, type LiveChatReplica, type LiveChatReplicaOptions } from './livechat.js'
export {
  startZendeskChatReplica,
  ZENDESK_CHAT_SCOPES,
  type ZendeskChatReplica,
  type ZendeskChatReplicaOptions,
} from './zendesk-chat.js'
export { startRespondIoReplica, type RespondIoReplica, type RespondIoReplicaOptions } from './respondio.js'
export { startInteractReplica, newTenantGuid, type InteractReplica, type InteractReplicaOptions } from './interact.js'
export { pkcePair, s256, TEST_TLS, type RecordedRequest, type Rejection } from './common.js'
