// The live character counter under "Isi aduan": the citizen sees the limit before sending.
// Counts code points, as the gateway does (an emoji is one character, not two).
(function () {
  "use strict";
  var text = document.getElementById("text");
  var count = document.getElementById("text-count");
  if (!text || !count) return;
  var max = parseInt(text.getAttribute("data-max-chars"), 10);
  var angka = function (n) { return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, "."); };
  function update() {
    var n = Array.from(text.value).length;
    var over = n - max;
    count.textContent = angka(n) + " / " + angka(max) + " karakter" +
      (over > 0 ? " — terlalu panjang " + angka(over) + " karakter, mohon diringkas" : "");
    count.classList.toggle("over", over > 0);
  }
  text.addEventListener("input", update);
  update();
})();
