fRoM node:20 as Web
copy --from=NGINX:1.27 /a /b
From --platform=linux/arm64 python:3.12 As api
Run --mount=type=bind,FROM=redis:7,target=/r true
