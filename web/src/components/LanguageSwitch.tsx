/** Switches between zh-CN and English; the choice is remembered in this browser. */
import { Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { LANGUAGES, setLanguage, type Language } from '../i18n';

export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  return (
    <Select
      aria-label={t('app.language')}
      data-testid="language"
      value={i18n.language as Language}
      onChange={(v: Language) => setLanguage(v)}
      options={LANGUAGES.map((l) => ({ value: l.code, label: l.label }))}
      style={{ width: 120 }}
      size="small"
    />
  );
}
