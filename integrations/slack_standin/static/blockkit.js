// Block Kit JSON -> DOM, readable rather than pixel-perfect. No dependencies.
"use strict";

const BlockKit = (() => {
  const EMOJI = {
    trophy: "🏆", fire: "🔥", tada: "🎉", rocket: "🚀", star: "⭐", medal: "🏅",
    first_place_medal: "🥇", second_place_medal: "🥈", third_place_medal: "🥉",
    moneybag: "💰", chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉",
    bar_chart: "📊", telephone_receiver: "📞", phone: "📞", calendar: "📅", dart: "🎯",
    muscle: "💪", clap: "👏", bell: "🔔", hourglass: "⌛", x: "❌", warning: "⚠️",
    white_check_mark: "✅", heavy_check_mark: "✔️", arrow_up: "⬆️", arrow_down: "⬇️",
    large_green_circle: "🟢", large_yellow_circle: "🟡", red_circle: "🔴",
    large_blue_circle: "🔵", wave: "👋", sunny: "☀️", memo: "📝", email: "📧",
    handshake: "🤝", zap: "⚡", eyes: "👀", bulb: "💡", sparkles: "✨", crown: "👑",
    white_circle: "⚪", black_circle: "⚫", large_orange_circle: "🟠", arrow_right: "➡️",
    arrow_upper_right: "↗️", arrow_lower_right: "↘️", heavy_minus_sign: "➖", thumbsup: "👍",
    "+1": "👍", raised_hands: "🙌", hourglass_flowing_sand: "⏳", calendar_spiral: "🗓️",
    speech_balloon: "💬", mag: "🔍", pushpin: "📌", sparkle: "❇️", partying_face: "🥳",
    snail: "🐌", turtle: "🐢", runner: "🏃", checkered_flag: "🏁", spiral_note_pad: "🗒️",
  };

  let people = {};
  let channels = {};

  function setDirectory(members, conversations) {
    people = Object.fromEntries(members.map((m) => [m.id, m.name]));
    channels = Object.fromEntries(conversations.map((c) => [c.id, c.name]));
  }

  function esc(text) {
    return String(text ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function link(inner) {
    const [target, label] = inner.split("|");
    if (target.startsWith("@")) return `<span class="mention">@${esc(people[target.slice(1)] || label || target.slice(1))}</span>`;
    if (target.startsWith("#")) return `<span class="mention">${esc(label ? "#" + label : channels[target.slice(1)] || target)}</span>`;
    if (target.startsWith("!")) return `<span class="mention">@${esc(label || target.slice(1).split("^")[0])}</span>`;
    const safe = /^(https?:|mailto:|\/)/.test(target) ? target : "#";
    return `<a href="${esc(safe)}" target="_blank" rel="noopener">${esc(label || target)}</a>`;
  }

  // Slack's mrkdwn: escape first, then links, code, bold/italic/strike, quotes, emoji.
  function mrkdwn(source) {
    const codes = [];
    let text = String(source ?? "").replace(/```([\s\S]*?)```/g, (_, c) => {
      codes.push(`<pre>${esc(c)}</pre>`); return `\u0000${codes.length - 1}\u0000`;
    }).replace(/`([^`\n]+)`/g, (_, c) => {
      codes.push(`<code>${esc(c)}</code>`); return `\u0000${codes.length - 1}\u0000`;
    });
    const links = [];
    text = text.replace(/<([^<>\n]+)>/g, (_, inner) => {
      links.push(link(inner)); return `\u0001${links.length - 1}\u0001`;
    });
    text = esc(text)
      .replace(/&amp;lt;/g, "&lt;").replace(/&amp;gt;/g, "&gt;").replace(/&amp;amp;/g, "&amp;")
      .replace(/(^|[\s(])\*([^*\n]+)\*/g, "$1<b>$2</b>")
      .replace(/(^|[\s(])_([^_\n]+)_/g, "$1<i>$2</i>")
      .replace(/(^|[\s(])~([^~\n]+)~/g, "$1<s>$2</s>")
      .replace(/^&gt; ?(.*)$/gm, "<blockquote>$1</blockquote>")
      .replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m)
      .replace(/\n/g, "<br>");
    return text
      .replace(/\u0001(\d+)\u0001/g, (_, i) => links[+i])
      .replace(/\u0000(\d+)\u0000/g, (_, i) => codes[+i]);
  }

  function textObject(obj) {
    if (!obj) return "";
    if (typeof obj === "string") return esc(obj);
    if (obj.type === "mrkdwn") return mrkdwn(obj.text);
    return esc(obj.text).replace(/:([a-z0-9_+-]+):/g, (m, n) => (obj.emoji === false ? m : EMOJI[n] || m)).replace(/\n/g, "<br>");
  }

  function el(tag, cls, html) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (html !== undefined) node.innerHTML = html;
    return node;
  }

  function imageSrc(item) {
    if (item.image_url) return item.image_url;
    const file = item.slack_file || {};
    if (file.id) return `/files/${encodeURIComponent(file.id)}/image`;
    return file.url || "";
  }

  // ctx: {onAction(action, blockId), inView: bool, errors: {}}
  function element(item, blockId, ctx) {
    const actionId = item.action_id || `${blockId}-${item.type}`;
    switch (item.type) {
      case "button": {
        const b = el("button", `bk-button ${item.style || ""}`, textObject(item.text));
        b.type = "button";
        b.dataset.actionId = actionId;
        if (item.url) b.addEventListener("click", () => window.open(item.url, "_blank"));
        b.addEventListener("click", () => ctx.onAction({
          type: "button", action_id: actionId, block_id: blockId,
          text: item.text, value: item.value, style: item.style,
        }, item));
        return b;
      }
      case "image": {
        const img = el("img", "bk-thumb");
        img.src = imageSrc(item); img.alt = item.alt_text || "";
        return img;
      }
      case "mrkdwn": case "plain_text":
        return el("span", "bk-text", textObject(item));
      case "overflow": case "static_select": case "external_select": {
        const s = el("select", "bk-select");
        s.dataset.actionId = actionId;
        s.append(new Option(item.placeholder ? item.placeholder.text : "…", ""));
        const groups = item.option_groups ? item.option_groups.flatMap((g) => g.options) : item.options || [];
        for (const o of groups) s.append(new Option(o.text.text, o.value));
        if (item.initial_option) s.value = item.initial_option.value;
        s.addEventListener("change", () => {
          const o = groups.find((x) => x.value === s.value);
          // In a view only an input block with dispatch_action sends the choice at once.
          if (o && (!ctx.inView || ctx.dispatch)) ctx.onAction({ type: item.type, action_id: actionId, block_id: blockId, selected_option: o }, item);
        });
        s.stateOf = () => {
          const o = groups.find((x) => x.value === s.value);
          return { type: item.type, selected_option: o || null };
        };
        return s;
      }
      default:
        return input(item, blockId, ctx);
    }
  }

  function input(item, blockId, ctx) {
    const actionId = item.action_id || `${blockId}-${item.type}`;
    let node;
    switch (item.type) {
      case "plain_text_input": case "number_input": case "email_text_input": case "url_text_input": {
        node = item.multiline ? el("textarea", "bk-control") : el("input", "bk-control");
        if (item.type === "number_input") node.type = "number";
        node.value = item.initial_value || "";
        if (item.placeholder) node.placeholder = item.placeholder.text;
        node.stateOf = () => ({ type: item.type, value: node.value === "" ? null : node.value });
        break;
      }
      case "datepicker": {
        node = el("input", "bk-control"); node.type = "date";
        node.value = item.initial_date || "";
        node.stateOf = () => ({ type: "datepicker", selected_date: node.value || null });
        break;
      }
      case "users_select": {
        node = el("select", "bk-select");
        node.append(new Option(item.placeholder ? item.placeholder.text : "Pick someone", ""));
        for (const [id, name] of Object.entries(people)) node.append(new Option(name, id));
        node.value = item.initial_user || "";
        node.stateOf = () => ({ type: "users_select", selected_user: node.value || null });
        break;
      }
      case "radio_buttons": case "checkboxes": {
        node = el("div", "bk-choices");
        const kind = item.type === "radio_buttons" ? "radio" : "checkbox";
        const picked = new Set([item.initial_option, ...(item.initial_options || [])].filter(Boolean).map((o) => o.value));
        for (const o of item.options || []) {
          const label = el("label", "bk-choice");
          const box = el("input"); box.type = kind; box.name = `${blockId}.${actionId}`; box.value = o.value;
          box.checked = picked.has(o.value);
          label.append(box, el("span", "", textObject(o.text)));
          node.append(label);
        }
        node.stateOf = () => {
          const chosen = (item.options || []).filter((o) => node.querySelector(`input[value="${CSS.escape(o.value)}"]`).checked);
          return kind === "radio"
            ? { type: item.type, selected_option: chosen[0] || null }
            : { type: item.type, selected_options: chosen };
        };
        break;
      }
      default:
        return el("span", "bk-unknown", `[${esc(item.type)}]`);
    }
    node.dataset.actionId = actionId;
    return node;
  }

  function block(b, index, ctx) {
    const blockId = b.block_id || `block-${index}`;
    const wrap = el("div", `bk bk-${b.type}`);
    wrap.dataset.blockId = blockId;
    switch (b.type) {
      case "header": wrap.append(el("h3", "", textObject(b.text))); break;
      case "divider": wrap.append(el("hr")); break;
      case "section": {
        const body = el("div", "bk-section-body");
        if (b.text) body.append(el("div", "bk-section-text", textObject(b.text)));
        if (b.fields) {
          const grid = el("div", "bk-fields");
          for (const f of b.fields) grid.append(el("div", "bk-field", textObject(f)));
          body.append(grid);
        }
        wrap.append(body);
        if (b.accessory) wrap.append(element(b.accessory, blockId, ctx));
        break;
      }
      case "context":
        for (const item of b.elements || []) {
          wrap.append(item.type === "image" ? Object.assign(el("img", "bk-context-img"), { src: imageSrc(item), alt: item.alt_text || "" }) : el("span", "", textObject(item)));
        }
        break;
      case "actions":
        for (const item of b.elements || []) wrap.append(element(item, blockId, ctx));
        break;
      case "image": {
        if (b.title) wrap.append(el("div", "bk-image-title", textObject(b.title)));
        const img = el("img", "bk-image"); img.src = imageSrc(b); img.alt = b.alt_text || "";
        wrap.append(img);
        break;
      }
      case "input": {
        const label = el("label", "bk-label", textObject(b.label) + (b.optional ? ' <span class="optional">(optional)</span>' : ""));
        wrap.append(label, element(b.element, blockId, b.dispatch_action ? { ...ctx, dispatch: true } : ctx));
        if (b.hint) wrap.append(el("div", "bk-hint", textObject(b.hint)));
        break;
      }
      case "rich_text":
        wrap.append(el("div", "", esc(richText(b))));
        break;
      default:
        wrap.append(el("div", "bk-unknown", `[${esc(b.type)} block]`));
    }
    const error = ctx.errors && ctx.errors[blockId];
    if (error) wrap.append(el("div", "bk-error", esc(error)));
    return wrap;
  }

  function richText(b) {
    const walk = (n) => (n.text || "") + (n.elements || []).map(walk).join("");
    return walk(b);
  }

  function render(blocks, ctx) {
    const frag = el("div", "bk-blocks");
    (blocks || []).forEach((b, i) => frag.append(block(b, i, ctx)));
    return frag;
  }

  // Collect state.values as Slack sends them in view_submission / block_actions.
  function stateOf(root) {
    const values = {};
    for (const node of root.querySelectorAll("[data-action-id]")) {
      if (typeof node.stateOf !== "function") continue;
      const blockId = node.closest("[data-block-id]").dataset.blockId;
      (values[blockId] ||= {})[node.dataset.actionId] = node.stateOf();
    }
    return values;
  }

  return { render, stateOf, mrkdwn, textObject, setDirectory, esc };
})();
