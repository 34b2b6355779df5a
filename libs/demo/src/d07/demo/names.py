"""Vietnamese names for the demo province: people, units, places. Pure data and a seeded random source."""

from __future__ import annotations

import random

FAMILY = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Trịnh",
    "Đoàn",
    "Lương",
)
MIDDLE_MEN = ("Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Xuân", "Công", "Đình", "Trọng", "Mạnh")
MIDDLE_WOMEN = ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Kim", "Bích", "Hồng", "Phương")
GIVEN_MEN = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Giang",
    "Hải",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Khánh",
    "Khoa",
    "Lâm",
    "Long",
    "Lực",
    "Nam",
    "Nghĩa",
    "Phong",
    "Phúc",
    "Quân",
    "Sơn",
    "Tài",
    "Thắng",
    "Thành",
    "Toàn",
    "Trung",
    "Tuấn",
    "Việt",
    "Vinh",
    "Vũ",
)
GIVEN_WOMEN = (
    "Anh",
    "Chi",
    "Dung",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hiền",
    "Hoa",
    "Hương",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Mai",
    "Nga",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phượng",
    "Thảo",
    "Thủy",
    "Trang",
    "Tuyết",
    "Vân",
    "Yến",
)

# People whose names Vietnamese schools and streets carry.
NOTABLES = (
    "Chu Văn An",
    "Lê Quý Đôn",
    "Nguyễn Du",
    "Trần Hưng Đạo",
    "Lê Lợi",
    "Quang Trung",
    "Nguyễn Trãi",
    "Phan Bội Châu",
    "Hùng Vương",
    "Nguyễn Huệ",
    "Lương Thế Vinh",
    "Võ Thị Sáu",
    "Ngô Quyền",
    "Lý Thường Kiệt",
    "Trần Phú",
    "Nguyễn Khuyến",
    "Hoàng Hoa Thám",
    "Phan Chu Trinh",
    "Bà Triệu",
    "Trần Quốc Toản",
    "Nguyễn Bỉnh Khiêm",
    "Tô Hiến Thành",
    "Lê Hồng Phong",
    "Nguyễn Thị Minh Khai",
    "Đinh Tiên Hoàng",
    "Trưng Vương",
    "Nguyễn Văn Cừ",
    "Hàm Nghi",
    "Phan Đình Phùng",
    "Yết Kiêu",
)

PROVINCE_AGENCIES = (
    "Sở Tài chính",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Xây dựng",
    "Sở Công Thương",
    "Sở Nội vụ",
    "Sở Tư pháp",
    "Sở Thông tin và Truyền thông",
    "Sở Kế hoạch và Đầu tư",
    "Sở Giao thông vận tải",
    "Sở Tài nguyên và Môi trường",
    "Sở Nông nghiệp và Phát triển nông thôn",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Lao động - Thương binh và Xã hội",
    "Sở Khoa học và Công nghệ",
    "Kho bạc Nhà nước tỉnh",
    "Cục Thuế tỉnh",
    "Bảo hiểm xã hội tỉnh",
    "Bệnh viện Đa khoa tỉnh",
    "Đài Phát thanh và Truyền hình tỉnh",
)
DISTRICT_AGENCIES = (
    ("Phòng Tài chính - Kế hoạch", "state_agency"),
    ("Phòng Giáo dục và Đào tạo", "state_agency"),
    ("Chi cục Thuế", "state_agency"),
    ("Kho bạc Nhà nước", "state_agency"),
    ("Bảo hiểm xã hội", "state_agency"),
    ("Trung tâm Y tế", "public_service_unit"),
    ("Trung tâm Văn hóa - Thể thao", "public_service_unit"),
    ("Ban Quản lý dự án đầu tư xây dựng", "public_service_unit"),
    ("Huyện đoàn", "mass_organisation"),
    ("Hội Nông dân", "mass_organisation"),
    ("Ban Tuyên giáo", "party_agency"),
)
ENTERPRISE_NAMES = (
    "Minh Phát",
    "Hòa Bình",
    "Sông Cầu",
    "Thành Công",
    "Phú Tài",
    "Quang Minh",
    "Hưng Thịnh",
    "An Phú",
    "Việt Tiến",
    "Đại Dương",
    "Tân Hoàng",
    "Trường Sơn",
    "Kim Long",
    "Phương Nam",
    "Đông Á",
    "Thái Bình Dương",
    "Hoàng Gia",
    "Sao Mai",
    "Bình Minh",
    "Hồng Hà",
)
INDUSTRIES = (
    "May mặc",
    "Xây dựng",
    "Thủy sản",
    "Điện tử",
    "Vận tải",
    "Chế biến gỗ",
    "Dược phẩm",
    "Thực phẩm",
    "Cơ khí",
    "Vật liệu xây dựng",
    "Thương mại",
    "Bao bì",
)
ENTERPRISE_FORMS = (
    ("Công ty TNHH", "private_enterprise"),
    ("Công ty Cổ phần", "private_enterprise"),
    ("Công ty TNHH Một thành viên", "state_enterprise"),
    ("Hợp tác xã", "cooperative"),
)
STREETS = (*NOTABLES, "Hai Bà Trưng", "Điện Biên Phủ", "Cách Mạng Tháng Tám", "Độc Lập", "Thống Nhất")
CAMERA_SPOTS = (
    "Ngã tư",
    "Chợ",
    "Cổng trụ sở Ủy ban nhân dân",
    "Bến xe",
    "Cầu",
    "Quảng trường",
    "Công viên",
    "Trạm y tế",
    "Nhà văn hóa",
    "Đường vào khu công nghiệp",
)
RESIDENTIAL = ("Tổ dân phố số", "Thôn", "Khu phố", "Xóm")
POSITIONS = ("Đội trưởng", "Tổ trưởng", "Tổ phó", "Nhân viên bảo vệ", "Nhân viên bảo vệ", "Nhân viên bảo vệ")
HEAD_TITLES = {"agency": "Giám đốc", "enterprise": "Giám đốc", "school": "Hiệu trưởng"}


def person(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_MEN)} {rng.choice(GIVEN_MEN)}"
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE_WOMEN)} {rng.choice(GIVEN_WOMEN)}"


def phone(rng: random.Random) -> str:
    return f"09{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"


def address(rng: random.Random, place: str) -> str:
    return f"Số {rng.randint(1, 250)} đường {rng.choice(STREETS)}, {place}"


def short_place(name: str) -> str:
    """'Huyện Ba Khe' -> 'Ba Khe', 'Thành phố Sơn Lâm' -> 'Sơn Lâm'."""
    for prefix in ("Thành phố ", "Thị xã ", "Huyện ", "Phường ", "Xã ", "Thị trấn "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def inline(name: str) -> str:
    """A division's name inside a sentence: 'Xã Bộc Bố' -> 'xã Bộc Bố', 'Thành phố Sơn Lâm' -> 'thành phố Sơn
    Lâm' (the administrative word is lower case there)."""
    place = short_place(name)
    return name[: len(name) - len(place)].lower() + place if place != name else name
