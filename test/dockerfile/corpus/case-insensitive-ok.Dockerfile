fRoM node:20 as Web
copy --from=nginx:1.27 /a /b
From --platform=linux/arm64 python:3.12 As api
Run --mount=type=bind,FROM=redis:7,target=/r true
COPY --from=WEB /x /y
