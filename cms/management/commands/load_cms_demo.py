"""``manage.py load_cms_demo``: the public site's demo content (idempotent). See cms/demo.py."""

import io

from django.core.management import call_command
from django.core.management.base import BaseCommand
from wagtail.search.backends import get_search_backend

from cms.demo import load_demo


class Command(BaseCommand):
    help = "建立公众网站的演示内容：首页、栏目、种子政策文件、一封信、培训资料、常见问题、用户组和审核流程（可重复运行）。"

    def handle(self, *args, **options):
        report = load_demo()
        if report.created:
            for item in report.created:
                self.stdout.write(f"  + {item}")
            self.stdout.write(self.style.SUCCESS(f"load_cms_demo: 新建 {len(report.created)} 项"))
            if hasattr(get_search_backend(), "es"):
                # Elasticsearch: build the index with its mapping and the new pages in it.
                call_command("wagtail_update_index", stdout=io.StringIO())
                self.stdout.write("load_cms_demo: 已重建搜索索引")
        else:
            self.stdout.write("load_cms_demo: 已是最新，未做改动")
