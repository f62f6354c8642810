// The access log (README "Access log"): settings, the per-thread writer, and
// the record the forwarding code fills in.
export { AccessLog } from './access-log';
export { ACCESS_LOG_FORMATS, AccessLogSettingsError, accessLogSettings, STDOUT, type AccessLogFormat, type AccessLogSettings } from './settings';
export type { AccessRecord, LoggedRequest } from './record';
