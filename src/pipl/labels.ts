/** Chinese labels the PIPL documents use (the reports are for people and the regulator in China). */
export const FIELD_ZH: Record<string, string> = { name: '姓名', phone: '电话', address: '地址', id_number: '身份证号' };
export const PARTY_ZH: Record<string, string> = { sender: '寄件人', recipient: '收件人' };
export const PURPOSE_ZH: Record<string, string> = { delivery: '派件', pickup: '揽收', customer_service: '客户服务', returns: '退件', audit: '安全审计', other: '其他' };
export const ROLE_ZH: Record<string, string> = {
  courier: '快递员',
  outlet_staff: '网点人员',
  sorting: '分拣人员',
  customer_service: '客服',
  manager: '管理人员',
  it_admin: '系统管理员',
  security_analyst: '安全分析员',
  service: '系统服务',
};
export const REQUEST_KIND_ZH: Record<string, string> = { access: '查阅、复制', correction: '更正', deletion: '删除' };
export const STATE_ZH: Record<string, string> = { pending_approval: '待第二人审批', completed: '已完成', rejected: '已拒绝' };

/** "recipient.phone" → "收件人电话". */
export const qualifiedZh = (q: string): string => {
  const [party, field] = q.split('.') as [string, string];
  return `${PARTY_ZH[party] ?? party}${FIELD_ZH[field] ?? field}`;
};

/** A time in China Standard Time, "2026-12-01 10:00". */
export function chinaTime(t: Date | string | number): string {
  const d = new Date(new Date(t).getTime() + 8 * 3_600_000);
  return d.toISOString().slice(0, 16).replace('T', ' ');
}
