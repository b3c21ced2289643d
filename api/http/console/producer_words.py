"""The producer screens' words in English and Vietnamese (merged into ``words.WORDS``)."""

from __future__ import annotations

__all__ = ["PRODUCER_WORDS"]

PRODUCER_WORDS: dict[str, tuple[str, str]] = {
    "prod.title": ("Products", "Sản phẩm"),
    "prod.explain": (
        "A product is a GTIN with its names in Vietnamese and English and an optional "
        "picture. Its lots appear here once a batch is commissioned.",
        "Mỗi sản phẩm là một mã GTIN với tên tiếng Việt, tiếng Anh và ảnh (không bắt buộc). "
        "Các lô hiện ở đây sau khi một lô hàng được đưa vào sổ cái.",
    ),
    "prod.gtin": ("GTIN (8, 12, 13 or 14 digits)", "Mã GTIN (8, 12, 13 hoặc 14 chữ số)"),
    "prod.gtin_ok": ("Check digit correct.", "Số kiểm tra đúng."),
    "prod.gtin_bad": (
        "Check digit wrong: the last digit should be {digit}.",
        "Số kiểm tra sai: chữ số cuối phải là {digit}.",
    ),
    "prod.gtin_short": ("Type 8, 12, 13 or 14 digits.", "Nhập 8, 12, 13 hoặc 14 chữ số."),
    "prod.name_vi": ("Name in Vietnamese", "Tên tiếng Việt"),
    "prod.name_en": ("Name in English", "Tên tiếng Anh"),
    "prod.image": (
        "Picture (PNG, JPEG or WebP, at most 600 KB; optional)",
        "Ảnh (PNG, JPEG hoặc WebP, tối đa 600 KB; không bắt buộc)",
    ),
    "prod.save": ("Save product", "Lưu sản phẩm"),
    "prod.none": ("No products yet.", "Chưa có sản phẩm."),
    "prod.lots": ("Lots", "Các lô"),
    "prod.items": ("{count} items in your hands", "{count} sản phẩm bạn đang giữ"),
    "prod.no_lots": ("No batch commissioned yet.", "Chưa có lô nào."),
    "prod.picture_of": ("Picture of {name}", "Ảnh của {name}"),
    "batch.title": ("Batches", "Lô hàng"),
    "batch.commission": ("Commission a batch", "Đưa một lô vào sổ cái"),
    "batch.explain": (
        "Serials from the first one, counting up: FS000001 and 1000 make FS000001 to FS001000. "
        "Your browser signs the entry with your key.",
        "Số sê-ri tăng dần từ số đầu: FS000001 và 1000 cho FS000001 đến FS001000. "
        "Trình duyệt ký bản ghi bằng khóa của bạn.",
    ),
    "batch.product": ("Product", "Sản phẩm"),
    "batch.lot": ("Lot", "Lô"),
    "batch.expiry": ("Expiry (YYMMDD, optional)", "Hạn dùng (YYMMDD, không bắt buộc)"),
    "batch.first": ("First serial", "Số sê-ri đầu"),
    "batch.count": ("How many", "Số lượng"),
    "batch.review": ("Review", "Xem lại"),
    "batch.sign": ("Sign and record", "Ký và ghi"),
    "batch.done": ("Recorded as entry {index}.", "Đã ghi, bản ghi số {index}."),
    "imp.title": ("Import from CSV or Excel", "Nhập từ CSV hoặc Excel"),
    "imp.explain": (
        "Columns: gtin, lot, expiry, serials (FS000001..FS001000) or serial_start and count, "
        "name_vi, name_en. The file is checked row by row before anything is signed.",
        "Các cột: gtin, lot, expiry, serials (FS000001..FS001000) hoặc serial_start và count, "
        "name_vi, name_en. Tệp được kiểm tra từng dòng trước khi ký.",
    ),
    "imp.file": (
        "CSV or Excel (.xlsx) file, at most 700 KB",
        "Tệp CSV hoặc Excel (.xlsx), tối đa 700 KB",
    ),
    "imp.check": ("Check the file", "Kiểm tra tệp"),
    "imp.ok": (
        "{rows} rows, {entries} batches, {serials} serials: no problems.",
        "{rows} dòng, {entries} lô, {serials} số sê-ri: không có lỗi.",
    ),
    "imp.bad": (
        "{count} problems: fix the file and check it again.",
        "{count} lỗi: hãy sửa tệp và kiểm tra lại.",
    ),
    "imp.row": ("Row", "Dòng"),
    "imp.column": ("Column", "Cột"),
    "imp.message": ("Problem", "Lỗi"),
    "imp.confirm": ("Sign and submit {entries} batches", "Ký và gửi {entries} lô"),
    "imp.products": ("Save {entries} products", "Lưu {entries} sản phẩm"),
    "imp.progress": ("Signed and recorded", "Đã ký và ghi"),
    "imp.done": ("All {entries} rows are recorded.", "Đã ghi cả {entries} dòng."),
    "label.title": ("Labels and print sheets", "Nhãn và tờ in"),
    "label.explain": (
        "Your browser signs every item code with your key; the server checks each signature "
        "and lays the labels out on A4 pages.",
        "Trình duyệt ký mã của từng sản phẩm bằng khóa của bạn; máy chủ kiểm tra từng chữ ký "
        "và xếp nhãn lên trang A4.",
    ),
    "label.format": ("Format", "Định dạng"),
    "label.make": ("Sign the codes and make the sheet", "Ký mã và tạo tờ in"),
    "label.signing": ("Signing codes: {done} of {total}", "Đang ký mã: {done}/{total}"),
    "label.progress": ("Laying out labels", "Đang xếp nhãn"),
    "label.download": ("Download the sheet", "Tải tờ in"),
    "ship.title": ("Ship and recall", "Giao hàng và thu hồi"),
    "ship.ship": ("Ship to a distributor or seller", "Giao cho nhà phân phối hoặc người bán"),
    "ship.shipment": ("Shipment id", "Mã chuyến hàng"),
    "ship.to": ("To (actor id)", "Đến (mã tác nhân)"),
    "ship.sign": ("Sign and ship", "Ký và giao"),
    "ship.done": ("Shipped: entry {index}.", "Đã giao: bản ghi số {index}."),
    "recall.title": ("Recall a lot", "Thu hồi một lô"),
    "recall.reason": ("Reason", "Lý do"),
    "recall.contact": (
        "Contact for shoppers (phone, email or web address)",
        "Liên hệ cho người mua (điện thoại, email hoặc trang web)",
    ),
    "recall.sign": ("Sign and recall", "Ký và thu hồi"),
    "recall.done": ("Recalled: entry {index}.", "Đã thu hồi: bản ghi số {index}."),
    "dash.title": ("Dashboard", "Tổng quan"),
    "dash.window": (
        "The last {days} days, dates in {zone}: {total} scans.",
        "{days} ngày qua, ngày theo {zone}: {total} lượt quét.",
    ),
    "dash.days": ("Scans over time", "Lượt quét theo ngày"),
    "dash.day": ("Day", "Ngày"),
    "dash.scans": ("Scans", "Lượt quét"),
    "dash.places": ("Places (coarse)", "Nơi quét (khái quát)"),
    "dash.place": ("Place", "Nơi"),
    "dash.none": ("Nothing yet.", "Chưa có."),
    "dash.vouched": (
        "Clone alerts on vouched evidence (platform, stream and overlay scans)",
        "Cảnh báo hàng sao chép có bằng chứng xác thực (nền tảng, phiên phát, lớp phủ)",
    ),
    "dash.weak": (
        "Weak signals (anonymous scans): for you only, never shown to others",
        "Tín hiệu yếu (quét ẩn danh): chỉ bạn thấy, không hiện cho người khác",
    ),
    "dash.item": ("Item", "Sản phẩm"),
    "dash.reasons": ("What the scans say", "Dấu hiệu"),
    "dash.sellers": ("Sellers offering it", "Người bán đang chào"),
    "dash.latest": ("Latest", "Gần nhất"),
    "dash.reports": ("Reports from shoppers", "Phản ánh của người mua"),
    "dash.report_kind": ("Kind", "Loại"),
    "dash.report_text": ("Message", "Nội dung"),
    "dash.report_contact": ("Contact (only you see it)", "Liên hệ (chỉ bạn thấy)"),
    "dash.report_when": ("When", "Thời gian"),
    "dash.webhooks": ("Webhooks", "Webhook"),
    "hook.about": (
        "Your webhooks: a signed POST (Standard Webhooks) to your address when a shopper "
        "reports one of your items (report.received) or a clone is suspected "
        "(clone_suspected). A shopper's contact is never sent: read it above.",
        "Webhook của bạn: một yêu cầu POST có ký (Standard Webhooks) tới địa chỉ của bạn khi "
        "người mua phản ánh sản phẩm của bạn (report.received) hoặc nghi có hàng sao chép "
        "(clone_suspected). Liên hệ của người mua không bao giờ được gửi: xem ở trên.",
    ),
    "hook.url": ("Address (https://...)", "Địa chỉ (https://...)"),
    "hook.events": ("Events", "Sự kiện"),
    "hook.created": ("Added", "Ngày thêm"),
    "hook.delete": ("Delete", "Xóa"),
    "hook.add": ("Add the webhook", "Thêm webhook"),
    "hook.both": ("Reports and clone alerts", "Phản ánh và cảnh báo sao chép"),
    "hook.reports": ("Reports from shoppers", "Phản ánh của người mua"),
    "hook.clones": ("Clone alerts", "Cảnh báo sao chép"),
    "hook.secret_once": (
        "The signing secret, shown this once: keep it now. Reload to see the list.",
        "Khóa ký, chỉ hiện lần này: hãy lưu lại ngay. Tải lại trang để xem danh sách.",
    ),
}
