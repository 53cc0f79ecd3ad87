# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022 `
  AS base
RUN powershell -Command `
    Write-Host hello
COPY --from=mcr.microsoft.com/powershell:lts-nanoserver-1809 `
    C:\\ C:\\
FROM base
