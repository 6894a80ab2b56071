// A small rich-text editor for question stems, options and explanations.
// It enhances <textarea class="rich">: without JavaScript the textarea takes plain text or
// HTML. The server sanitises whatever arrives, so the editor only has to be convenient.
"use strict";

(() => {
  const csrfToken = () => {
    const input = document.querySelector('input[name="csrf_token"]');
    return input ? input.value : "";
  };

  const TABLE = "<table><tbody><tr><td>&nbsp;</td><td>&nbsp;</td></tr>" +
    "<tr><td>&nbsp;</td><td>&nbsp;</td></tr></tbody></table><p></p>";

  const uploadImage = async (file, editor) => {
    const data = new FormData();
    data.append("image", file);
    data.append("csrf_token", csrfToken());
    const resp = await fetch("/qb/images", { method: "POST", body: data, headers: { "X-CSRFToken": csrfToken() } });
    const json = await resp.json().catch(() => ({}));
    if (!resp.ok || !json.url) {
      window.alert(json.error || resp.statusText);
      return;
    }
    editor.focus();
    document.execCommand("insertHTML", false, `<img src="${json.url}" alt="">`);
  };

  const enhance = (textarea) => {
    const wrap = document.createElement("div");
    wrap.className = "rte-wrap";
    const bar = document.createElement("div");
    bar.className = "rte-toolbar";
    bar.setAttribute("role", "toolbar");
    const editor = document.createElement("div");
    editor.className = "rte";
    editor.contentEditable = "true";
    editor.setAttribute("role", "textbox");
    editor.setAttribute("aria-multiline", "true");
    editor.id = `${textarea.id}-editor`;
    const label = document.querySelector(`label[for="${textarea.id}"]`);
    if (label) {
      label.id = label.id || `${textarea.id}-label`;
      editor.setAttribute("aria-labelledby", label.id);
      label.setAttribute("for", editor.id);
      label.addEventListener("click", () => editor.focus());
    }
    for (const attr of ["aria-describedby", "aria-invalid"]) {
      if (textarea.hasAttribute(attr)) editor.setAttribute(attr, textarea.getAttribute(attr));
    }
    editor.innerHTML = textarea.value;
    const buttons = [
      ["B", "bold", "加粗 Bold"],
      ["I", "italic", "斜体 Italic"],
      ["U", "underline", "下划线 Underline"],
      ["• 列表", "insertUnorderedList", "项目符号列表 List"],
      ["1. 列表", "insertOrderedList", "编号列表 Numbered list"],
      ["表格", "table", "插入表格 Table"],
      ["图片", "image", "插入图片 Image"],
      ["清除格式", "removeFormat", "清除格式 Clear formatting"],
    ];
    const picker = document.createElement("input");
    picker.type = "file";
    picker.accept = "image/png,image/jpeg,image/gif,image/webp";
    picker.hidden = true;
    picker.addEventListener("change", () => {
      if (picker.files[0]) uploadImage(picker.files[0], editor);
      picker.value = "";
    });
    for (const [text, command, title] of buttons) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = text;
      b.title = title;
      b.setAttribute("aria-label", title);
      b.addEventListener("mousedown", (e) => e.preventDefault()); // keep the selection
      b.addEventListener("click", () => {
        editor.focus();
        if (command === "table") document.execCommand("insertHTML", false, TABLE);
        else if (command === "image") picker.click();
        else document.execCommand(command, false, null);
        sync();
      });
      bar.appendChild(b);
    }
    const sync = () => { textarea.value = editor.innerHTML; };
    editor.addEventListener("input", sync);
    editor.addEventListener("paste", (e) => {
      // Paste pictures as uploads; text as plain text (Word's markup is noise).
      const items = [...(e.clipboardData || {}).items || []];
      const image = items.find((i) => i.type.startsWith("image/"));
      e.preventDefault();
      if (image) uploadImage(image.getAsFile(), editor);
      else document.execCommand("insertText", false, e.clipboardData.getData("text/plain"));
    });
    textarea.hidden = true;
    textarea.parentNode.insertBefore(wrap, textarea);
    wrap.append(bar, editor, picker);
    textarea.form.addEventListener("submit", sync);
  };

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("textarea.rich").forEach(enhance);

    // The question list: select all, and show only the bulk field the action needs.
    const all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", () => {
        document.querySelectorAll('input[name="ids"]').forEach((b) => { b.checked = all.checked; });
      });
    }
    const action = document.getElementById("bulk_action");
    if (action) {
      const sync = () => {
        document.querySelectorAll("[data-bulk-for]").forEach((el) => {
          el.hidden = el.dataset.bulkFor !== action.value;
        });
      };
      action.addEventListener("change", sync);
      sync();
    }
  });
})();
