/** English message catalogue (the keys every other language must have; a test checks zh-CN has them all). */
const en = {
  app: { name: 'Warden', subtitle: 'Security console', language: 'Language', signOut: 'Sign out', signedInAs: 'Signed in as {{account}}', timeZone: 'Times in {{tz}}', skip: 'Skip to content' },
  nav: { overview: 'Overview', alerts: 'Alerts', accounts: 'Account', audit: 'Audit', detectors: 'Detectors', cases: 'Cases' },
  common: {
    loading: 'Loading…', retry: 'Retry', empty: 'Nothing here yet', error: 'Could not load: {{message}}', refresh: 'Refresh', loadMore: 'Load more', end: 'No more entries',
    cancel: 'Cancel', confirm: 'Confirm', save: 'Save', apply: 'Apply', reset: 'Reset', search: 'Search', open: 'Open', all: 'All', yes: 'Yes', no: 'No', note: 'Note', reason: 'Reason',
    notAvailable: 'Not available on this server yet', notAvailableHint: 'This server does not offer {{what}} yet; the action is disabled until it does.',
    selfAction: 'You cannot act on your own account', actionDone: 'Done', time: 'Time', account: 'Account', device: 'Device', site: 'Site', city: 'City', status: 'Status', role: 'Role', actions: 'Actions', filtersLocal: 'Filtered in the console: the server does not filter by {{fields}} yet.',
  },
  login: {
    title: 'Sign in to the security console', account: 'Account', password: 'Password', otp: 'One-time code', otpHint: 'Enter the 6-digit code from your authenticator app',
    submit: 'Sign in', required: 'Required', otpFormat: 'Six digits', notAnalyst: 'This console is for security analysts. The account {{account}} may not use it.', device: 'This browser signs in as device {{device}}',
    sso: 'Sign in with SSO', or: 'or', passwordsOff: 'Sign-in with a Warden password is switched off here: use your organisation\'s single sign-on.', ssoFailed: 'Single sign-on did not complete; start again.',
    ssoReasons: {
      sso_unmapped: 'Your identity provider signed you in, but none of your groups is mapped to a Warden role. Ask your administrator.',
      sso_no_account_claim: 'Your identity provider did not say which Warden account you are. Ask your administrator.',
      sso_step_up_not_met: 'Your identity provider did not confirm the stronger sign-in Warden asked for.',
      sso_token_invalid: 'The identity provider\'s answer did not pass Warden\'s checks; start again.',
      sso_state_unknown: 'This sign-in expired or was already used; start again.',
      sso_provider_error: 'The identity provider did not sign you in; start again.',
    },
  },
  stream: { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', ended: 'Stream ended', idle: 'Paused', updated: 'Updated {{time}}' },
  overview: {
    eventsPerSecond: 'Events / s', revealsHour: 'Reveals (last hour)', explained: 'Explained', unexplained: 'Unexplained', refusalsHour: 'Refusals (last hour)', openAlerts: 'Open alerts',
    revealsByRole: 'Reveals by role (last hour)', explainedVsUnexplained: 'Explained vs unexplained reveals (last hour)', refusalsByReason: 'Refusals by reason (last hour)', trend: '24-hour trend', riskiest: 'Riskiest accounts now', latestAlerts: 'Latest alerts',
    risk: 'Risk', inForce: 'In force', alerts: 'Alerts', lastAlert: 'Last alert', noDetection: 'Detection is off on this server', chartSummary: '{{title}}: {{summary}}', events: 'Events', reveals: 'Reveals', refusals: 'Refusals',
    basisNote: 'Explained = backed by an assignment, ticket, phone search or case. Allowed only by site or city scope counts as unexplained.',
  },
  severity: { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' },
  alertStatus: { open: 'Open', acknowledged: 'Acknowledged', resolved: 'Resolved' },
  verdict: { true_positive: 'True positive', false_positive: 'False positive' },
  alerts: {
    title: 'Alert queue', severity: 'Severity', minSeverity: 'Severity', status: 'Status', detector: 'Detector', site: 'Site', city: 'City', timeRange: 'Time', assignee: 'Assignee', account: 'Account',
    groupIncidents: 'Group by incident', incident: 'Incident {{id}}', incidentCount: '{{count}} alerts', summary: 'Summary', score: 'Score', newAlerts: '{{count}} new alerts arrived', showNew: 'Show',
    ack: 'Acknowledge', resolveTp: 'True positive', resolveFp: 'False positive', resolveTitle: 'Resolve as {{verdict}}', notePlaceholder: 'What you found (kept with the alert, audited)', assign: 'Assign', assignTo: 'Assign to account', bulk: '{{count}} selected', bulkAck: 'Acknowledge selected', bulkResolve: 'Resolve selected…',
    evidence: 'Evidence', openAccount: 'Investigate account', updated: 'Updated by {{who}} at {{time}}', noteLabel: 'Note', selectAlert: 'Select alert {{id}}',
  },
  account: {
    title: 'Account investigation', lookup: 'Account id', lookupPlaceholder: 'e.g. c-0001', open: 'Open', riskNow: 'Risk now', responseDue: 'Response due', inForce: 'Response in force', none: 'None',
    riskOverTime: 'Risk over time (after each alert)', devices: 'Devices', networks: 'Networks', cities: 'Cities', first: 'First seen', last: 'Last seen', events: 'Events', addresses: 'Addresses',
    hours: 'Working hours against peers', hoursAccount: 'This account', hoursPeers: 'Peers (mean of {{active}} active of {{size}}, same role and site)', hoursNote: 'Audited activity per weekday and hour, last {{days}} days, in your time zone.', noPeers: 'No peers at the same site with the same role',
    timeline: 'Activity timeline', onlyReveals: 'Reveals only', onlyUnexplained: 'Unexplained only', kind: 'What', waybill: 'Waybill', fields: 'Fields', purpose: 'Purpose', decision: 'Decision', explainedBy: 'Explained by',
    explained: 'Explained', unexplained: 'Unexplained', alerts: 'Alerts about this account',
    respond: 'Response', stepUp: 'Step-up', throttle: 'Throttle', suspend: 'Suspend', lift: 'Lift', respondTitle: '{{action}} {{account}}', reasonPlaceholder: 'Why (audited, at least 3 characters)',
    responseApplied: '{{action}} applied to {{account}}', responseLifted: 'Response lifted from {{account}}', suspended: 'Suspended', active: 'Active',
    weekdays: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
  },
  roles: { courier: 'courier', outlet_staff: 'outlet staff', sorting: 'sorting', customer_service: 'customer service', manager: 'manager', it_admin: 'IT admin', security_analyst: 'security analyst', service: 'service', unknown: 'unknown' },
  reasons: {
    no_work_context: 'no work behind it', field_not_allowed: 'field not allowed', purpose_not_allowed: 'purpose not allowed', role_not_permitted: 'role not permitted', case_required: 'case required',
    quota_exceeded: 'quota exceeded', account_suspended: 'account suspended', step_up_required: 'step-up required', throttled: 'throttled', not_found: 'no such waybill', validation_failed: 'invalid request', unknown: 'unknown',
  },
  basis: { assignment: 'assignment', ticket: 'ticket', phone_search: 'phone search', case: 'case', site: 'site scope only', city: 'city scope only', none: 'no basis recorded' },
  kinds: {
    'access.view': 'Viewed (masked)', 'access.reveal': 'Reveal', 'access.search': 'Search', 'access.print': 'Printed label', 'auth.login': 'Login', 'auth.logout': 'Logout',
    'admin.account_suspended': 'Account suspended', 'admin.account_unsuspended': 'Suspension lifted', 'watch.response_applied': 'Response applied', 'watch.response_cleared': 'Response lifted', 'watch.alert_updated': 'Alert reviewed',
  },
  audit: {
    title: 'Audit trail', chain: 'Hash chain', verify: 'Verify now', verifying: 'Verifying…', chainOk: 'Intact: {{count}} entries, checkpoints signed', chainBad: 'Broken at entry {{seq}}: {{reason}}', notVerified: 'Not verified in this session',
    head: 'Last signed tree head', treeSize: 'Tree size', rootHash: 'Root hash', keyId: 'Key', signedAt: 'Signed at', witnesses: 'Witnesses', sink: 'Witness', lastSize: 'Last size', lastAt: 'Last at', ok: 'OK', failing: 'Failing',
    search: 'Search the trail', waybill: 'Waybill', account: 'Account', kind: 'Kind', since: 'From', until: 'To', exportCsv: 'Export CSV', decision: 'Decision', noPii: 'The trail never holds customer data: waybill numbers, field names, who, where, why and the outcome.',
  },
  detectors: {
    title: 'Detectors', enabled: 'Enabled', disabled: 'Disabled', fired24h: 'Fired (24 h)', fired7d: 'Fired (7 days)', sinceStart: 'Since start', folded: 'Folded into open alerts', lastFired: 'Last fired',
    settings: 'Settings', backtest: 'Backtest', backtestDays: 'Replay the stored last', days: 'days', running: 'Running settings', candidate: 'Candidate', wouldRaise: 'Would have raised', currentRaise: 'Running settings raised', accountsAffected: '{{count}} accounts', eventsReplayed: '{{count}} stored events replayed in {{ms}} ms', truncated: 'Stopped at the replay limit: counts cover only part of the window.',
    added: 'Raised only with the candidate', removed: 'Raised only with the running settings', save: 'Save settings', saveReason: 'Reason for the change (audited)', backtestFirst: 'Backtest these settings before saving', restartNote: 'Saved settings apply when Warden next restarts: the live engine keeps its learned baselines and is not rebuilt in place.', pending: 'Saved, applies after restart', savedBy: 'Saved by {{who}} at {{time}}', changed: 'Changed from running', saved: 'Settings saved; they apply after the next restart',
  },
  cases: {
    title: 'Cases', open: 'Open a case', caseTitle: 'Title', reason: 'Reason', waybills: 'Waybills (one per line)', accounts: 'Accounts (one per line)', status: 'Status', openedBy: 'Opened by', approvedBy: 'Approved by', created: 'Created',
    approve: 'Approve', close: 'Close', pending: 'Pending approval', opened: 'Open', closed: 'Closed', reveals: 'Case-backed reveals', ownCase: 'Another analyst must approve your case', unavailable: 'Cases are not available on this server yet.', created_ok: 'Case opened; another analyst must approve it',
  },
  errors: {
    network: 'The server cannot be reached', invalid_credentials: 'Account, password or one-time code is wrong', login_throttled: 'Too many failed sign-ins; try again later', account_suspended: 'This account is suspended',
    forbidden: 'Not allowed for your role', self_action: 'You cannot act on your own account, alert or case', not_found: 'Not found', validation_failed: 'Check the input: {{message}}', unauthenticated: 'Your session has ended; sign in again', generic: '{{message}}',
    sso_refused: 'Your identity provider signed you in, but Warden does not let you in: no Warden account with that role and site. Ask your administrator.', sso_failed: 'Single sign-on did not complete; start again.',
    invalid_device_credential: 'This browser\'s device enrolment is no longer accepted; sign in again to enrol it anew.', device_limit: 'Too many new devices for this account today; try again later.', password_login_disabled: 'Passwords are switched off here: use single sign-on.',
  },
};
export default en;
export type Messages = typeof en;
