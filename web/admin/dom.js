// DOM helpers, labels and number formats of the find-partner console.
//
// Every value that comes from the API enters the page as a text node or an attribute value set
// with setAttribute, never as HTML, so no data can add markup or scripts to the page.
(function () {
  'use strict';

  var Admin = (window.Admin = window.Admin || {});

  // Creates an element. `attrs` keys: `class`, `on<event>` (a function), and any other
  // attribute, set with setAttribute; null, undefined and false values are skipped. Children
  // may be nodes, strings, numbers, null (skipped) or arrays of these.
  function h(tag, attrs) {
    var element = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (name.slice(0, 2) === 'on' && typeof value === 'function') {
        element.addEventListener(name.slice(2), value);
      } else if (name === 'class') {
        element.className = value;
      } else {
        element.setAttribute(name, value === true ? '' : String(value));
      }
    });
    append(element, Array.prototype.slice.call(arguments, 2));
    return element;
  }

  function append(element, children) {
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) {
        return;
      }
      if (Array.isArray(child)) {
        append(element, child);
      } else if (child instanceof Node) {
        element.appendChild(child);
      } else {
        element.appendChild(document.createTextNode(String(child)));
      }
    });
  }

  function clear(element) {
    while (element.firstChild) {
      element.removeChild(element.firstChild);
    }
    return element;
  }

  // Chinese labels of the schema's enums, as the schema's descriptions give them.
  var LABELS = {
    StatsWindow: { TODAY: '今天', LAST_7_DAYS: '近7天', LAST_30_DAYS: '近30天', ALL: '全部' },
    MatchKind: { PARTNER: '创业合伙', RESOURCE: '资源对接', MENTOR: '导师顾问', TEAM: '团队招募' },
    MatchStatus: { MATCHED: '已匹配', CONTACTED: '已联系', CLOSED: '已关闭' },
    DeliveryStatus: {
      PENDING: '待投递',
      CREATED: '新增成功',
      EXISTING: '已存在',
      REJECTED: '被拒绝',
      FAILED: '投递失败',
    },
    FriendStatus: {
      NEW: '待添加',
      REQUESTED: '已建任务',
      SENT: '已发送',
      REJECTED: '添加失败',
      PASSED: '已通过',
    },
    BookingStatus: { PENDING: '待确认', CONFIRMED: '已确认', COMPLETED: '已完成', CANCELLED: '已取消' },
    ResourceDirection: { OFFER: '提供资源', NEED: '需要资源' },
    ResourceStatus: { OPEN: '待对接', MATCHED: '已对接', CLOSED: '已关闭' },
    RecruitStatus: { RECRUITING: '招募中', FULL: '已满员', CLOSED: '已结束' },
    ApplicationStatus: { PENDING: '待处理', ACCEPTED: '已通过', REJECTED: '未通过', WITHDRAWN: '已撤回' },
    PoolSource: { ALL_MEMBERS: '全部成员', VIP_MEMBERS: 'VIP 成员', TAGGED: '按标签', MANUAL: '手动名单' },
    LeadOrigin: {
      LINK_KARUO: '链接卡若',
      MATCH: '匹配记录',
      MENTOR_BOOKING: '导师预约',
      RESOURCE_MATCH: '资源对接',
      TEAM_RECRUIT: '团队招募',
      INTEGRATOR: '外部接入',
    },
    CkbAnswer: { CREATED: '新增成功', EXISTING: '已存在', REJECTED: '被拒绝', TRANSIENT: '暂时失败' },
    FieldRequirement: { REQUIRED: '必填', ONE_OF: '二选一', OPTIONAL: '选填' },
    Role: { ADMIN: '管理员', SERVICE: '小程序后端', INTEGRATOR: '外部接入' },
  };

  // The Chinese label of an enum value, or the value itself when the console does not know it.
  function label(type, value) {
    if (value === null || value === undefined) {
      return '—';
    }
    var labels = LABELS[type] || {};
    return labels[value] || String(value);
  }

  // A small coloured label for an enum value; the raw value is kept as a tooltip.
  function badge(type, value) {
    if (value === null || value === undefined) {
      return h('span', { class: 'muted' }, '—');
    }
    return h(
      'span',
      { class: 'badge badge-' + String(value).toLowerCase(), title: value, 'data-enum': value },
      label(type, value)
    );
  }

  // Times are shown at the gateway's UTC offset (PGW_UTC_OFFSET_HOURS, 8 = Beijing time by
  // default), which every screen's query reads as `viewer.utcOffsetHours`, so that the dates
  // shown and the date filters use the same calendar days as the overview's windows.
  var utcOffsetHours = 8;
  var timeFormat = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'UTC',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  });

  function setUtcOffset(hours) {
    if (typeof hours === 'number' && isFinite(hours)) {
      utcOffsetHours = hours;
    }
  }

  // The time zone's name for the page: 北京时间 for UTC+8, otherwise UTC±N.
  function zoneLabel() {
    if (utcOffsetHours === 8) {
      return '北京时间';
    }
    return 'UTC' + (utcOffsetHours < 0 ? '−' + -utcOffsetHours : '+' + utcOffsetHours);
  }

  // The offset as RFC 3339 writes it, such as +08:00 or -05:00.
  function offsetSuffix() {
    var hours = Math.abs(utcOffsetHours);
    return (utcOffsetHours < 0 ? '-' : '+') + (hours < 10 ? '0' : '') + hours + ':00';
  }

  var fmt = {
    int: function (value) {
      return value === null || value === undefined ? '—' : Number(value).toLocaleString('zh-CN');
    },
    // A rate from 0 to 1 as a percentage with one decimal, or — when the API returned null.
    pct: function (value) {
      return value === null || value === undefined ? '—' : (value * 100).toFixed(1) + '%';
    },
    // Formatting in UTC a time moved by the offset gives the wall clock at that offset.
    time: function (value) {
      return value ? timeFormat.format(new Date(new Date(value).getTime() + utcOffsetHours * 3600000)) : '—';
    },
    // How long ago a time was, in words, from the browser's clock.
    age: function (value) {
      if (!value) {
        return '—';
      }
      var seconds = Math.max(0, Math.round((Date.now() - new Date(value).getTime()) / 1000));
      if (seconds < 60) {
        return seconds + ' 秒前';
      }
      if (seconds < 3600) {
        return Math.floor(seconds / 60) + ' 分钟前';
      }
      if (seconds < 86400) {
        return Math.floor(seconds / 3600) + ' 小时前';
      }
      return Math.floor(seconds / 86400) + ' 天前';
    },
    list: function (values) {
      return values && values.length ? values.join('、') : '—';
    },
  };

  // Converts a calendar day at the gateway's offset to its start as an RFC 3339 UTC time, for
  // the API's date ranges. `days` moves the day forward.
  function dayStart(date, days) {
    var start = new Date(date + 'T00:00:00' + offsetSuffix());
    start.setUTCDate(start.getUTCDate() + (days || 0));
    return start.toISOString();
  }

  // A number shown on the page, with a key the browser tests read it by.
  function metric(key, value, format) {
    return h('span', { class: 'metric', 'data-metric': key }, (format || fmt.int)(value));
  }

  // A table of `rows` with `columns` = [{ title, cell(row) -> node or text, class }].
  function table(columns, rows, empty) {
    if (!rows.length) {
      return h('p', { class: 'empty' }, empty || '没有记录');
    }
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        null,
        h('thead', null, h('tr', null, columns.map(function (column) {
          return h('th', { class: column.class }, column.title);
        }))),
        h('tbody', null, rows.map(function (row) {
          return h('tr', null, columns.map(function (column) {
            return h('td', { class: column.class }, column.cell(row));
          }));
        }))
      )
    );
  }

  // A <select> of an enum's values with an empty "all" option first.
  function enumSelect(name, type, value, allLabel) {
    var labels = LABELS[type];
    return h(
      'select',
      { name: name, id: 'filter-' + name },
      h('option', { value: '' }, allLabel || '全部'),
      Object.keys(labels).map(function (key) {
        return h('option', { value: key, selected: key === value }, labels[key]);
      })
    );
  }

  Admin.dom = {
    h: h,
    clear: clear,
    label: label,
    badge: badge,
    fmt: fmt,
    dayStart: dayStart,
    setUtcOffset: setUtcOffset,
    zoneLabel: zoneLabel,
    metric: metric,
    table: table,
    enumSelect: enumSelect,
    LABELS: LABELS,
  };
})();
