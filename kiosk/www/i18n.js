// The page's words, in Simplified Chinese (the default) and English, and
// the helpers that turn card data into plain language.  Nothing here
// touches the page or the bridge.

const zh = {
  app_title: '残疾人一卡通 自助查询',
  skip: '跳到主要内容',
  read_aloud: '朗读',
  lang_other: 'English',
  back: '返回',
  cancel: '取消',
  finish: '结束',

  start_h: '请插入您的卡',
  start_p: '请将一卡通插入读卡器，芯片朝上。',
  start_card_in: '读卡器里有一张卡。',
  start_go: '开始',
  start_again: '重新开始',
  reader_missing: '读卡器暂时无法使用，请联系工作人员。',

  card_h: '卡片信息',
  card_wait: '正在读取卡片，请稍候…',
  card_id: '卡号',
  card_state: '状态',
  card_issued: '发卡日期',
  card_expires: '有效期至',
  card_sig: '真伪验证',
  card_next: '输入密码，查看我的待遇',
  sig_valid: '验证通过，本卡由本市残联签发。',
  sig_invalid: '验证未通过，请联系工作人员。',
  state_active: '正常',
  state_blocked: '已冻结',
  state_terminated: '已注销',
  state_personalised: '尚未启用',
  state_blank: '空白卡',
  card_not_active: '这张卡现在不能使用，请到发卡窗口咨询。',
  card_tries: (n) => `密码还可以尝试 ${n} 次。`,
  card_error: '无法读取这张卡，请取出卡片后重新插入，或联系工作人员。',
  card_not_ocp: '这不是残疾人一卡通，或者卡片尚未启用。',

  pin_h: '请输入密码',
  pin_p: '用屏幕上的数字键或键盘输入四到八位密码，然后按“确定”。',
  pin_count: (n) => `已输入 ${n} 位`,
  pin_count_words: (n) => `已输入${zhNumber(n)}位`,
  key_delete: '删除',
  key_ok: '确定',
  key_clear: '清空',
  pin_too_short: '密码是四到八位数字，请继续输入。',
  pin_checking: '正在验证密码…',
  wrong_pin: (n) => `密码错误，还可以尝试 ${n} 次。`,
  wrong_pin_words: (n) => `密码错误，还可以尝试${zhNumber(n)}次。`,
  pin_blocked: '密码已锁定。请带上身份证到发卡窗口解锁。',
  card_blocked: '这张卡已冻结或注销，请到发卡窗口咨询。',
  pin_ok: '密码正确。',

  holder_h: '我的信息和待遇',
  holder_wait: '正在读取，请稍候…',
  holder_person: '个人信息',
  holder_name: '姓名',
  holder_district: '所属区',
  holder_cert: '残疾人证号',
  holder_valid: '卡有效期至',
  holder_services: '我享受的待遇',
  holder_uses: '最近的使用记录',
  holder_no_services: '这张卡上还没有待遇。',
  holder_no_uses: '还没有使用记录。',
  holder_error: '读取失败，请重试或联系工作人员。',
  dis_show: '显示并朗读残疾信息',
  dis_hide: '隐藏残疾信息',
  dis_category: '残疾类别',
  dis_grade: '残疾等级',
  category: {
    visual: '视力残疾', hearing: '听力残疾', speech: '言语残疾',
    physical: '肢体残疾', intellectual: '智力残疾',
    psychosocial: '精神残疾', multiple: '多重残疾',
  },
  grade: (g) => `${zhNumber(g)}级`,
  domain: {
    transit: '交通出行', medical: '医疗', rehab: '康复',
    assistive: '辅助器具', subsidy: '补贴', venue: '文体场馆',
  },
  ent_pass: '不限次数',
  ent_counter: {
    month: (r, l) => `本月还剩 ${r} 次（每月 ${l} 次）`,
    year: (r, l) => `今年还剩 ${r} 次（每年 ${l} 次）`,
    none: (r, l) => `还剩 ${r} 次（共 ${l} 次）`,
  },
  ent_balance: (yuan) => `余额 ${yuan} 元`,
  ent_valid: (from, to) => `有效期：${from} 至 ${to}`,
  service_unknown: (code) => `服务 ${code}`,
  use_line: (name, amount) => `${name}，${amount}`,
  use_times: (n) => `使用 ${n} 次`,
  use_yuan: (yuan) => `支付 ${yuan} 元`,
  use_terminal: (t) => `终端 ${t}`,

  change_pin: '修改密码',
  change_h: '修改密码',
  change_old: '第一步：请输入现在的密码。',
  change_new: '第二步：请输入新密码，四到八位数字。',
  change_again: '第三步：请再输入一次新密码。',
  change_mismatch: '两次输入的新密码不一样，请重新输入新密码。',
  change_same: '新密码不能和现在的密码一样，请重新输入新密码。',
  change_done: '密码已修改。',
  change_working: '正在修改密码…',

  done_h: '谢谢使用',
  done_p: '请取走您的卡。',

  idle_h: '您还在使用吗？',
  idle_p: (s) => `如果没有操作，${s} 秒后将自动退出。`,
  idle_continue: '继续使用',
  idle_warning: '您很久没有操作了，即将自动退出。如需继续，请按“继续使用”。',

  ann_card_in: '已插入卡片。',
  ann_card_out: '卡片已取出，请插入您的卡。',
  ann_ended_idle: '因长时间没有操作，已自动退出。',
  ann_ended: '已退出。',
  ann_dis_shown: '已显示残疾信息。',
  ann_dis_hidden: '已隐藏残疾信息。',
  speak_failed: '朗读暂时不能使用。',
  net_error: '无法连接读卡服务，请联系工作人员。',
};

const en = {
  app_title: 'One-Card Pass self-service',
  skip: 'Skip to main content',
  read_aloud: 'Read aloud',
  lang_other: '中文',
  back: 'Back',
  cancel: 'Cancel',
  finish: 'Finish',

  start_h: 'Please insert your card',
  start_p: 'Put your One-Card Pass into the card reader, chip facing up.',
  start_card_in: 'There is a card in the reader.',
  start_go: 'Start',
  start_again: 'Start again',
  reader_missing: 'The card reader is not available. Please ask a member of staff.',

  card_h: 'Your card',
  card_wait: 'Reading your card, please wait…',
  card_id: 'Card number',
  card_state: 'Status',
  card_issued: 'Issued',
  card_expires: 'Valid until',
  card_sig: 'Genuine card check',
  card_next: 'Enter your PIN to see your services',
  sig_valid: 'Passed: this card was issued by the city.',
  sig_invalid: 'Failed. Please ask a member of staff.',
  state_active: 'Active',
  state_blocked: 'Blocked',
  state_terminated: 'Cancelled',
  state_personalised: 'Not activated yet',
  state_blank: 'Blank card',
  card_not_active: 'This card cannot be used now. Please ask at the card desk.',
  card_tries: (n) => `${n} PIN ${n === 1 ? 'try' : 'tries'} left.`,
  card_error: 'This card could not be read. Take it out and insert it again, or ask a member of staff.',
  card_not_ocp: 'This is not a One-Card Pass, or it has not been activated yet.',

  pin_h: 'Enter your PIN',
  pin_p: 'Type your PIN of four to eight digits on the keys on screen or on the keyboard, then press OK.',
  pin_count: (n) => `${n} ${n === 1 ? 'digit' : 'digits'} entered`,
  pin_count_words: (n) => `${enNumber(n)} ${n === 1 ? 'digit' : 'digits'} entered`,
  key_delete: 'Delete',
  key_ok: 'OK',
  key_clear: 'Clear',
  pin_too_short: 'Your PIN has four to eight digits. Please go on typing.',
  pin_checking: 'Checking your PIN…',
  wrong_pin: (n) => `Wrong PIN. ${n} ${n === 1 ? 'try' : 'tries'} left.`,
  wrong_pin_words: (n) => `Wrong PIN. ${enNumber(n)} ${n === 1 ? 'try' : 'tries'} left.`,
  pin_blocked: 'Your PIN is locked. Please bring your ID card to the card desk to unlock it.',
  card_blocked: 'This card is blocked or cancelled. Please ask at the card desk.',
  pin_ok: 'PIN correct.',

  holder_h: 'My details and services',
  holder_wait: 'Reading, please wait…',
  holder_person: 'About me',
  holder_name: 'Name',
  holder_district: 'District',
  holder_cert: 'Disability certificate',
  holder_valid: 'Card valid until',
  holder_services: 'My services',
  holder_uses: 'Recent uses',
  holder_no_services: 'There are no services on this card yet.',
  holder_no_uses: 'No uses yet.',
  holder_error: 'Reading failed. Please try again or ask a member of staff.',
  dis_show: 'Show and read out disability details',
  dis_hide: 'Hide disability details',
  dis_category: 'Disability',
  dis_grade: 'Grade',
  category: {
    visual: 'Visual', hearing: 'Hearing', speech: 'Speech',
    physical: 'Physical', intellectual: 'Intellectual',
    psychosocial: 'Psychosocial', multiple: 'Multiple',
  },
  grade: (g) => `Grade ${g}`,
  domain: {
    transit: 'Transport', medical: 'Medical', rehab: 'Rehabilitation',
    assistive: 'Assistive devices', subsidy: 'Subsidy', venue: 'Venues',
  },
  ent_pass: 'Unlimited use',
  ent_counter: {
    month: (r, l) => `${r} of ${l} left this month`,
    year: (r, l) => `${r} of ${l} left this year`,
    none: (r, l) => `${r} of ${l} left`,
  },
  ent_balance: (yuan) => `Balance: ${yuan} yuan`,
  ent_valid: (from, to) => `Valid from ${from} to ${to}`,
  service_unknown: (code) => `Service ${code}`,
  use_line: (name, amount) => `${name}, ${amount}`,
  use_times: (n) => `used ${n} ${n === 1 ? 'time' : 'times'}`,
  use_yuan: (yuan) => `paid ${yuan} yuan`,
  use_terminal: (t) => `terminal ${t}`,

  change_pin: 'Change PIN',
  change_h: 'Change your PIN',
  change_old: 'Step one: enter your current PIN.',
  change_new: 'Step two: enter a new PIN of four to eight digits.',
  change_again: 'Step three: enter the new PIN again.',
  change_mismatch: 'The two new PINs were different. Please enter the new PIN again.',
  change_same: 'The new PIN must differ from the current one. Please enter a new PIN.',
  change_done: 'Your PIN has been changed.',
  change_working: 'Changing your PIN…',

  done_h: 'Thank you',
  done_p: 'Please take your card.',

  idle_h: 'Are you still there?',
  idle_p: (s) => `Without any action, the session ends in ${s} ${s === 1 ? 'second' : 'seconds'}.`,
  idle_continue: 'Continue',
  idle_warning: 'No action for a while: the session will end soon. Press Continue to carry on.',

  ann_card_in: 'Card inserted.',
  ann_card_out: 'Card removed. Please insert your card.',
  ann_ended_idle: 'Session ended: no action for a while.',
  ann_ended: 'Session ended.',
  ann_dis_shown: 'Disability details shown.',
  ann_dis_hidden: 'Disability details hidden.',
  speak_failed: 'Reading aloud is not available right now.',
  net_error: 'The card service cannot be reached. Please ask a member of staff.',
};

export const STRINGS = { zh, en };

const ZH_DIGITS = '〇一二三四五六七八九';

// 0..99 in Chinese numerals ("两" for a lone 2, as one says it).
export function zhNumber(n) {
  if (n === 0) return '零';
  if (n === 2) return '两';
  if (n < 10) return ZH_DIGITS[n];
  const tens = Math.floor(n / 10), ones = n % 10;
  return (tens === 1 ? '' : ZH_DIGITS[tens]) + '十' + (ones ? ZH_DIGITS[ones] : '');
}

const EN_SMALL = ['zero', 'one', 'two', 'three', 'four', 'five', 'six',
  'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen',
  'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const EN_TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty',
  'seventy', 'eighty', 'ninety'];

export function enNumber(n) {
  if (n < 20) return EN_SMALL[n];
  const t = EN_TENS[Math.floor(n / 10)], o = n % 10;
  return o ? `${t}-${EN_SMALL[o]}` : t;
}

// "2034-01-14" → {y, m, d}, or null.
function parseDate(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  return m ? { y: +m[1], m: +m[2], d: +m[3] } : null;
}

const EN_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December'];

// A date as the screen shows it.
export function showDate(iso, lang) {
  const p = parseDate(iso);
  if (!p) return iso || '';
  return lang === 'zh' ? `${p.y}年${p.m}月${p.d}日`
    : `${p.d} ${EN_MONTHS[p.m - 1]} ${p.y}`;
}

// A date in words, for speech before the PIN: the bridge refuses a run of
// four digits then (a PIN must never be spoken), and a year is one.
export function speakDate(iso, lang) {
  const p = parseDate(iso);
  if (!p) return '';
  if (lang === 'zh') {
    const year = String(p.y).split('').map((c) => ZH_DIGITS[+c]).join('');
    return `${year}年${zhNumber(p.m)}月${zhNumber(p.d)}日`;
  }
  const hi = Math.floor(p.y / 100), lo = p.y % 100;
  let year;
  if (p.y >= 2000 && p.y < 2010) year = lo ? `two thousand and ${EN_SMALL[lo]}` : 'two thousand';
  else year = `${enNumber(hi)} ${lo === 0 ? 'hundred' : lo < 10 ? `oh ${EN_SMALL[lo]}` : enNumber(lo)}`;
  return `${p.d === 1 ? 'the first' : enNumber(p.d)} of ${EN_MONTHS[p.m - 1]}, ${year}`;
}

// "2024-03-01T08:15" → a date and time as the screen shows it.
export function showTime(iso, lang) {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})/.exec(iso || '');
  return m ? `${showDate(m[1], lang)} ${m[2]}` : (iso || '');
}

// Fen → "1,200.00" (yuan with two decimals, grouped).
export function yuan(fen) {
  const n = Number(fen) || 0;
  const neg = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const cents = String(abs % 100).padStart(2, '0');
  return `${neg}${whole}.${cents}`;
}
