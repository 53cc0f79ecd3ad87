# only arguments here
ARG A=1
