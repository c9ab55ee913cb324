/** 简体中文消息目录（键与 en.ts 相同）。 */
import type { Messages } from './en.js';

const zh: Messages = {
  app: { name: 'Warden', subtitle: '安全控制台', language: '语言', signOut: '退出登录', signedInAs: '当前账号 {{account}}', timeZone: '时间按 {{tz}} 显示', skip: '跳到正文' },
  nav: { overview: '总览', alerts: '告警', accounts: '账号调查', audit: '审计', detectors: '检测器', cases: '案件' },
  common: {
    loading: '加载中…', retry: '重试', empty: '暂无数据', error: '加载失败：{{message}}', refresh: '刷新', loadMore: '加载更多', end: '没有更多记录',
    cancel: '取消', confirm: '确认', save: '保存', apply: '应用', reset: '重置', search: '搜索', open: '打开', all: '全部', yes: '是', no: '否', note: '备注', reason: '原因',
    notAvailable: '此服务器暂不支持', notAvailableHint: '此服务器尚未提供{{what}}，在提供之前该操作不可用。',
    selfAction: '不能对自己的账号执行操作', actionDone: '已完成', time: '时间', account: '账号', device: '设备', site: '网点', city: '城市', status: '状态', role: '角色', actions: '操作', filtersLocal: '在控制台内筛选：服务器暂不支持按{{fields}}筛选。',
  },
  login: {
    title: '登录安全控制台', account: '账号', password: '密码', otp: '动态验证码', otpHint: '请输入身份验证器中的 6 位验证码',
    submit: '登录', required: '必填', otpFormat: '6 位数字', notAnalyst: '此控制台仅供安全分析员使用，账号 {{account}} 无权使用。', device: '此浏览器以设备 {{device}} 登录',
    sso: '使用单点登录（SSO）', or: '或', passwordsOff: '此处已关闭 Warden 密码登录，请使用本单位的单点登录。', ssoFailed: '单点登录未完成，请重新开始。',
    ssoReasons: {
      sso_unmapped: '身份提供方已确认您的身份，但您所在的用户组均未映射到 Warden 角色。请联系管理员。',
      sso_no_account_claim: '身份提供方未说明您对应的 Warden 账号。请联系管理员。',
      sso_step_up_not_met: '身份提供方未确认 Warden 要求的更强认证。',
      sso_token_invalid: '身份提供方的应答未通过 Warden 的校验，请重新开始。',
      sso_state_unknown: '此次登录已过期或已被使用，请重新开始。',
      sso_provider_error: '身份提供方未完成登录，请重新开始。',
    },
  },
  stream: { live: '实时', connecting: '连接中…', reconnecting: '重新连接中…', ended: '推送已结束', idle: '已暂停', updated: '更新于 {{time}}' },
  overview: {
    eventsPerSecond: '事件 / 秒', revealsHour: '明文查看（近 1 小时）', explained: '有依据', unexplained: '无依据', refusalsHour: '拒绝（近 1 小时）', openAlerts: '未关闭告警',
    revealsByRole: '按角色的明文查看（近 1 小时）', explainedVsUnexplained: '有依据与无依据的明文查看（近 1 小时）', refusalsByReason: '按原因的拒绝（近 1 小时）', trend: '24 小时趋势', riskiest: '当前风险最高的账号', latestAlerts: '最新告警',
    risk: '风险', inForce: '已执行', alerts: '告警', lastAlert: '最近告警', noDetection: '此服务器未开启检测', chartSummary: '{{title}}：{{summary}}', events: '事件', reveals: '明文查看', refusals: '拒绝',
    basisNote: '有依据 = 有派件、工单、手机号查询或案件支撑。仅凭网点或城市范围放行的，计为无依据。',
  },
  severity: { critical: '严重', high: '高', medium: '中', low: '低' },
  alertStatus: { open: '待处理', acknowledged: '已确认', resolved: '已处置' },
  verdict: { true_positive: '真实事件', false_positive: '误报' },
  alerts: {
    title: '告警队列', severity: '级别', minSeverity: '级别', status: '状态', detector: '检测器', site: '网点', city: '城市', timeRange: '时间', assignee: '处理人', account: '账号',
    groupIncidents: '按事件归并', incident: '事件 {{id}}', incidentCount: '{{count}} 条告警', summary: '摘要', score: '分数', newAlerts: '有 {{count}} 条新告警', showNew: '显示',
    ack: '确认', resolveTp: '真实事件', resolveFp: '误报', resolveTitle: '处置为{{verdict}}', notePlaceholder: '调查结论（随告警保存并审计）', assign: '指派', assignTo: '指派给账号', bulk: '已选 {{count}} 条', bulkAck: '批量确认', bulkResolve: '批量处置…',
    evidence: '证据', openAccount: '调查该账号', updated: '{{who}} 于 {{time}} 更新', noteLabel: '备注', selectAlert: '选择告警 {{id}}',
  },
  account: {
    title: '账号调查', lookup: '账号', lookupPlaceholder: '例如 c-0001', open: '打开', riskNow: '当前风险', responseDue: '应采取的响应', inForce: '已执行的响应', none: '无',
    riskOverTime: '风险变化（每条告警之后）', devices: '设备', networks: '网络', cities: '城市', first: '首次出现', last: '最近出现', events: '事件数', addresses: '地址数',
    hours: '工作时段对比同组人员', hoursAccount: '该账号', hoursPeers: '同组人员（同角色同网点，{{size}} 人中 {{active}} 人活跃的平均值）', hoursNote: '近 {{days}} 天按星期和小时统计的审计活动，按您的时区显示。', noPeers: '同一网点没有相同角色的人员',
    timeline: '活动时间线', onlyReveals: '仅明文查看', onlyUnexplained: '仅无依据', kind: '行为', waybill: '运单号', fields: '字段', purpose: '用途', decision: '结果', explainedBy: '依据',
    explained: '有依据', unexplained: '无依据', alerts: '与该账号相关的告警',
    respond: '响应', stepUp: '二次验证', throttle: '限流', suspend: '停用', lift: '解除', respondTitle: '{{action}}：{{account}}', reasonPlaceholder: '原因（将被审计，至少 3 个字符）',
    responseApplied: '已对 {{account}} 执行{{action}}', responseLifted: '已解除 {{account}} 的响应', suspended: '已停用', active: '正常',
    weekdays: ['周一', '周二', '周三', '周四', '周五', '周六', '周日'],
  },
  roles: { courier: '快递员', outlet_staff: '网点员工', sorting: '分拣员', customer_service: '客服', manager: '经理', it_admin: 'IT 管理员', security_analyst: '安全分析员', service: '系统服务', unknown: '未知' },
  reasons: {
    no_work_context: '无工作依据', field_not_allowed: '字段不允许', purpose_not_allowed: '用途不允许', role_not_permitted: '角色无权限', case_required: '需要案件',
    quota_exceeded: '超出配额', account_suspended: '账号已停用', step_up_required: '需二次验证', throttled: '已限流', not_found: '运单不存在', validation_failed: '请求无效', unknown: '未知',
  },
  basis: { assignment: '派件', ticket: '工单', phone_search: '手机号查询', case: '案件', site: '仅凭网点范围', city: '仅凭城市范围', none: '未记录依据' },
  kinds: {
    'access.view': '查看（脱敏）', 'access.reveal': '明文查看', 'access.search': '查询', 'access.print': '打印面单', 'auth.login': '登录', 'auth.logout': '退出',
    'admin.account_suspended': '账号停用', 'admin.account_unsuspended': '解除停用', 'watch.response_applied': '执行响应', 'watch.response_cleared': '解除响应', 'watch.alert_updated': '告警处置',
  },
  audit: {
    title: '审计日志', chain: '哈希链', verify: '立即校验', verifying: '校验中…', chainOk: '完整：共 {{count}} 条，检查点签名有效', chainBad: '在第 {{seq}} 条处断裂：{{reason}}', notVerified: '本次会话尚未校验',
    head: '最新签名树头', treeSize: '树大小', rootHash: '根哈希', keyId: '密钥', signedAt: '签名时间', witnesses: '见证方', sink: '见证方', lastSize: '最近大小', lastAt: '最近时间', ok: '正常', failing: '异常',
    search: '检索审计日志', waybill: '运单号', account: '账号', kind: '类型', since: '开始', until: '结束', exportCsv: '导出 CSV', decision: '结果', noPii: '审计日志从不保存客户数据：只有运单号、字段名、谁、在哪、为何以及结果。',
  },
  detectors: {
    title: '检测器', enabled: '已启用', disabled: '已停用', fired24h: '触发次数（24 小时）', fired7d: '触发次数（7 天）', sinceStart: '自启动以来', folded: '并入未关闭告警', lastFired: '最近触发',
    settings: '参数', backtest: '回测', backtestDays: '回放最近', days: '天的存储数据', running: '运行中的参数', candidate: '候选参数', wouldRaise: '候选参数将产生', currentRaise: '运行中的参数产生', accountsAffected: '涉及 {{count}} 个账号', eventsReplayed: '回放 {{count}} 条存储事件，用时 {{ms}} 毫秒', truncated: '达到回放上限：统计只覆盖部分时间窗口。',
    added: '仅候选参数产生', removed: '仅运行中参数产生', save: '保存参数', saveReason: '修改原因（将被审计）', backtestFirst: '保存前请先回测这些参数', restartNote: '保存的参数在 Warden 下次重启时生效：运行中的引擎保留已学习的基线，不会原地重建。', pending: '已保存，重启后生效', savedBy: '{{who}} 于 {{time}} 保存', changed: '与运行中不同', saved: '参数已保存，将在下次重启后生效',
  },
  cases: {
    title: '案件', open: '新建案件', caseTitle: '标题', reason: '原因', waybills: '运单号（每行一个）', accounts: '账号（每行一个）', status: '状态', openedBy: '发起人', approvedBy: '批准人', created: '创建时间',
    approve: '批准', close: '关闭', pending: '待批准', opened: '进行中', closed: '已关闭', reveals: '基于案件的明文查看', ownCase: '您的案件需由其他分析员批准', unavailable: '此服务器暂不支持案件。', created_ok: '案件已创建，需由其他分析员批准',
  },
  errors: {
    network: '无法连接服务器', invalid_credentials: '账号、密码或验证码错误', login_throttled: '登录失败次数过多，请稍后再试', account_suspended: '该账号已停用',
    forbidden: '您的角色无权执行此操作', self_action: '不能对自己的账号、告警或案件执行操作', not_found: '未找到', validation_failed: '请检查输入：{{message}}', unauthenticated: '会话已结束，请重新登录', generic: '{{message}}',
    sso_refused: '身份提供方已确认您的身份，但 Warden 未允许登录：没有对应角色和站点的 Warden 账号。请联系管理员。', sso_failed: '单点登录未完成，请重新开始。',
    invalid_device_credential: '此浏览器的设备登记已失效，请重新登录以重新登记。', device_limit: '该账号今日新设备过多，请稍后再试。', password_login_disabled: '此处已关闭密码登录，请使用单点登录。',
  },
};
export default zh;
